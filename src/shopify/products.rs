//! Where a Shopify product becomes rows: `products` (vendor → brand, first image, link from
//! the handle), its variants as `product_options` (price, sku, stock, size and colour), and
//! `product_type` and tags as categories.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::mapping::{Applied, Version};
use super::wire::{self, present};

#[derive(Debug)]
pub struct Product {
    pub shopify_id: i64,
    pub version: DateTime<Utc>,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub brand: Option<String>,
    pub stock_quantity: i32,
    pub image_url: Option<String>,
    pub url: Option<String>,
    pub active: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub categories: Vec<String>,
    pub options: Vec<ProductOption>,
}

#[derive(Debug)]
pub struct ProductOption {
    pub shopify_id: i64,
    pub sku: String,
    pub size: Option<String>,
    pub color: Option<String>,
    /// None: Shopify does not track this variant's stock.
    pub stock_quantity: Option<i32>,
    pub price: Option<String>,
}

/// Option axes named like these hold the size and the colour; a product whose axes are named
/// otherwise (the seed's `Title`) has its first axis taken as the size.
const SIZE_NAMES: [&str; 3] = ["size", "μέγεθος", "taglia"];
const COLOR_NAMES: [&str; 4] = ["color", "colour", "χρώμα", "colore"];

pub fn map(product: wire::Product, version: &Version, store_url: Option<&str>) -> Product {
    let handle = present(product.handle);
    let sku = handle
        .clone()
        .unwrap_or_else(|| format!("shopify-{}", product.id));
    let axis = |names: &[&str]| {
        product.options.iter().find_map(|o| {
            let name = o.name.as_deref()?.trim().to_lowercase();
            names.contains(&name.as_str()).then_some(o.position?)
        })
    };
    let color_axis = axis(&COLOR_NAMES);
    let size_axis = axis(&SIZE_NAMES).or((color_axis != Some(1)).then_some(1));
    let options: Vec<ProductOption> = product
        .variants
        .into_iter()
        .map(|variant| {
            let value = |axis: Option<u8>| {
                let value = match axis? {
                    1 => variant.option1.clone(),
                    2 => variant.option2.clone(),
                    3 => variant.option3.clone(),
                    _ => None,
                };
                present(value).filter(|v| v != "Default Title")
            };
            ProductOption {
                shopify_id: variant.id,
                size: value(size_axis),
                color: value(color_axis),
                sku: present(variant.sku)
                    .unwrap_or_else(|| format!("shopify-variant-{}", variant.id)),
                stock_quantity: variant.inventory_management.and(variant.inventory_quantity),
                price: variant.price.map(|p| p.as_str().to_owned()),
            }
        })
        .collect();
    let stock: i64 = options
        .iter()
        .filter_map(|o| o.stock_quantity)
        .map(i64::from)
        .sum();
    let mut categories: Vec<String> = present(product.product_type)
        .into_iter()
        .chain(
            product
                .tags
                .unwrap_or_default()
                .split(',')
                .filter_map(|t| present(Some(t.to_owned()))),
        )
        .collect();
    categories.sort();
    categories.dedup();
    let image = product
        .image
        .into_iter()
        .chain(product.images)
        .find_map(|image| present(image.src))
        .map(|src| match src.strip_prefix("//") {
            Some(rest) => format!("https://{rest}"),
            None => src,
        });
    Product {
        shopify_id: product.id,
        version: version.of(product.updated_at),
        name: present(product.title).unwrap_or_else(|| sku.clone()),
        url: store_url
            .zip(handle.as_deref())
            .map(|(store, handle)| format!("{}/products/{handle}", store.trim_end_matches('/'))),
        sku,
        description: product.body_html.unwrap_or_default(),
        brand: present(product.vendor),
        stock_quantity: stock.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        image_url: image,
        active: product.published_at.is_some()
            && product.status.as_deref().is_none_or(|s| s == "active"),
        created_at: product.created_at.map(|t| t.to_utc()),
        categories,
        options,
    }
}

/// Writes the product, its options and categories, unless the stored version is newer. The
/// product's price is its cheapest variant's.
pub async fn apply(conn: &mut PgConnection, product: &Product) -> Result<Applied, sqlx::Error> {
    let prices: Vec<Option<&str>> = product.options.iter().map(|o| o.price.as_deref()).collect();
    let written: Option<(i64, bool)> = sqlx::query_as(
        "WITH brand AS (
             INSERT INTO brands (name) SELECT $6 WHERE $6 IS NOT NULL
             ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
             RETURNING id
         )
         INSERT INTO products AS p (shopify_id, shopify_updated_at, sku, name, description,
                                    brand_id, price, stock_quantity, image_url, url, active,
                                    created_at)
         VALUES ($1, $2, $3, $4, $5, (SELECT id FROM brand),
                 coalesce((SELECT min(price) FROM unnest($7::numeric[]) price), 0),
                 $8, $9, $10, $11, coalesce($12, now()))
         ON CONFLICT (shopify_id) DO UPDATE SET
             shopify_updated_at = EXCLUDED.shopify_updated_at, sku = EXCLUDED.sku,
             name = EXCLUDED.name, description = EXCLUDED.description,
             brand_id = EXCLUDED.brand_id, price = EXCLUDED.price,
             stock_quantity = EXCLUDED.stock_quantity, image_url = EXCLUDED.image_url,
             url = EXCLUDED.url, active = EXCLUDED.active
         WHERE p.shopify_updated_at IS NULL OR p.shopify_updated_at <= EXCLUDED.shopify_updated_at
         RETURNING id, xmax = 0",
    )
    .bind(product.shopify_id)
    .bind(product.version)
    .bind(&product.sku)
    .bind(&product.name)
    .bind(&product.description)
    .bind(&product.brand)
    .bind(&prices)
    .bind(product.stock_quantity)
    .bind(&product.image_url)
    .bind(&product.url)
    .bind(product.active)
    .bind(product.created_at)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, created)) = written else {
        return Ok(Applied::older("product", product.shopify_id));
    };
    let options = &product.options;
    sqlx::query(
        "WITH variant AS (
             SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[],
                                  $7::numeric[])
                 AS v(shopify_id, sku, size, color, stock_quantity, price)
         ), gone AS (
             DELETE FROM product_options o
             WHERE o.product_id = $1 AND (o.shopify_id IS NULL OR o.shopify_id <> ALL ($2))
         )
         INSERT INTO product_options AS o (product_id, shopify_id, sku, size, color,
                                           stock_quantity, price)
         SELECT $1, shopify_id, sku, size, color, stock_quantity, price FROM variant
         ON CONFLICT (shopify_id) DO UPDATE SET
             product_id = EXCLUDED.product_id, sku = EXCLUDED.sku, size = EXCLUDED.size,
             color = EXCLUDED.color, stock_quantity = EXCLUDED.stock_quantity,
             price = EXCLUDED.price
         WHERE (o.product_id, o.sku, o.size, o.color, o.stock_quantity, o.price)
               IS DISTINCT FROM
               (EXCLUDED.product_id, EXCLUDED.sku, EXCLUDED.size, EXCLUDED.color,
                EXCLUDED.stock_quantity, EXCLUDED.price)",
    )
    .bind(id)
    .bind(options.iter().map(|o| o.shopify_id).collect::<Vec<_>>())
    .bind(options.iter().map(|o| o.sku.as_str()).collect::<Vec<_>>())
    .bind(
        options
            .iter()
            .map(|o| o.size.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        options
            .iter()
            .map(|o| o.color.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(options.iter().map(|o| o.stock_quantity).collect::<Vec<_>>())
    .bind(&prices)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "WITH wanted AS (
             -- In the sorted order of the names, so concurrent writers lock them alike.
             SELECT category_named(name) AS id FROM unnest($2::text[]) name
         ), gone AS (
             DELETE FROM product_categories pc
             WHERE pc.product_id = $1 AND pc.category_id NOT IN (SELECT id FROM wanted)
         )
         INSERT INTO product_categories (product_id, category_id)
         SELECT $1, id FROM wanted
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&product.categories)
    .execute(&mut *conn)
    .await?;
    Ok(Applied::written("product", id, created))
}

/// `products/delete`: the product stays (orders refer to it) but is no longer active, and
/// no later-arriving update brings it back (Shopify never reuses an id).
pub async fn deactivate(conn: &mut PgConnection, shopify_id: i64) -> Result<Applied, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE products SET active = false, shopify_updated_at = 'infinity'
         WHERE shopify_id = $1 RETURNING id",
    )
    .bind(shopify_id)
    .fetch_optional(conn)
    .await?;
    Ok(match id {
        Some(id) => Applied::Written {
            summary: format!("deactivated product {id}"),
            wakes_order: None,
        },
        None => Applied::Skipped(format!("no product has Shopify id {shopify_id}")),
    })
}
