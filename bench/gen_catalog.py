#!/usr/bin/env python3
"""Deterministic generator of a realistic scraper product-catalog CSV (stdlib only).

Columns (camelCase, as the scrapers write them):
  name, sku, productUrl, brand, description, categories, images, price, currency,
  availability, weight, weightUnit, ratingValue, reviewCount, variants, techs, faqs

Shape of the data (all fractions are of data rows, drawn from one seeded RNG):
  * ~500-550 bytes per row on average;
  * ~20% of descriptions are quoted multi-line cells with embedded commas (and some quotes);
  * categories / images / variants / faqs are JSON arrays, techs a JSON object, all as strings;
    ~2% of techs/variants cells are Python-repr style ("JSON-ish", not valid JSON);
  * 5% of rows repeat an earlier SKU (a re-scrape: new price / availability / review count);
  * ~1% invalid rows, split evenly: price 'N/A', SKU containing a space, javascript: URL.

Usage: gen_catalog.py --rows 200000 --out catalog.csv [--seed 20261130]
Prints one JSON line with the counts it planted, so a benchmark can check what landed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys

BRANDS = [
    "TrailCo",
    "Northline",
    "Ti Works",
    "Alpenglow",
    "RidgeRunner",
    "Cascadia Gear",
    "Summit & Sons",
    "Kelpie",
    "Borealis",
    "Fjällräv Outdoor",
    "Marmotte",
    "Pinecone Labs",
]
NOUNS = [
    "Tent",
    "Down Jacket",
    "Rain Shell",
    "Trekking Pole",
    "Sleeping Bag",
    "Stove",
    "Headlamp",
    "Backpack",
    "Water Filter",
    "Camp Chair",
    "Spork",
    "Mug",
    "Gaiters",
    "Fleece",
    "Base Layer",
    "Sleeping Pad",
    "Tarp",
    "Bivy",
    "Cook Pot",
    "Trail Runner",
]
ADJS = [
    "UltraLight",
    "Alpine",
    "Storm",
    "Ridge",
    "Summit",
    "Trail",
    "Backcountry",
    "Canyon",
    "Glacier",
    "Desert",
    "Nordic",
    "Coastal",
    "Thru-Hike",
    "Expedition",
    "Café",
]
CATS = [
    "Tents",
    "Backpacking",
    "Jackets",
    "Insulation",
    "Footwear",
    "Cooking",
    "Lighting",
    "Hydration",
    "Sleep",
    "Packs",
    "Accessories",
    "Clothing",
    "Climbing",
    "Camp Furniture",
]
COLORS = ["Green", "Sand", "Black", "Red", "Blue", "Slate", "Orange", "Olive"]
SIZES = ["XS", "S", "M", "L", "XL"]
CURRENCIES = ["USD"] * 7 + ["EUR", "GBP", "CAD"]
AVAIL = ["in_stock"] * 7 + ["out_of_stock"] * 2 + ["preorder"]
UNITS = ["g", "oz", "kg", "lb"]
WORDS = (
    "durable lightweight packable waterproof breathable recycled nylon ripstop "
    "seam-taped insulated compact versatile rugged trail-tested ergonomic adjustable "
    "reinforced abrasion-resistant quick-dry merino titanium aluminium weatherproof "
    "three-season four-season minimalist ventilated reflective"
).split()
FAQ_Q = [
    "Is the footprint included?",
    "Does it run true to size?",
    "Is it machine washable?",
    "What is the packed size?",
    "Can I use it in winter?",
]
FAQ_A = [
    "No, sold separately.",
    "Yes, order your usual size.",
    "Cold wash, hang dry.",
    "About 46 x 15 cm.",
    "Rated to -5 C with a liner.",
]

HEADER = [
    "name",
    "sku",
    "productUrl",
    "brand",
    "description",
    "categories",
    "images",
    "price",
    "currency",
    "availability",
    "weight",
    "weightUnit",
    "ratingValue",
    "reviewCount",
    "variants",
    "techs",
    "faqs",
]

DUP_RATE = 0.05
INVALID_RATE = 0.01
MULTILINE_RATE = 0.20
JSONISH_RATE = 0.02


def slugify(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")


def make_description(rng: random.Random, name: str, multiline: bool) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 11))
    first = f"The {name} is {' '.join(words[:3])}."
    rest = " ".join(words[3:]).capitalize() + "."
    if not multiline:
        return f"{first} {rest}"
    bullets = ", ".join(rng.sample(WORDS, 3))
    quote = ' Reviewers call it "bombproof".' if rng.random() < 0.3 else ""
    return f"{first}\nFeatures: {bullets}, and more.\n{rest}{quote}"


def make_variants(rng: random.Random, jsonish: bool) -> str:
    if rng.random() < 0.25:
        return ""
    variants = [{"attribute": "color", "values": rng.sample(COLORS, rng.randint(1, 3))}]
    if rng.random() < 0.4:
        variants.append({"attribute": "size", "values": rng.sample(SIZES, rng.randint(2, 4))})
    return repr(variants) if jsonish else json.dumps(variants, ensure_ascii=False)


def make_techs(rng: random.Random, jsonish: bool) -> str:
    techs: dict[str, object] = {
        "Material": rng.choice(["Nylon", "Polyester", "Titanium", "Merino"])
    }
    if rng.random() < 0.5:
        techs["Claimed Weight"] = f"{rng.randint(80, 2400)} g"
    if jsonish:
        techs["Hood"] = rng.random() < 0.5
        return repr(techs)
    return json.dumps(techs, ensure_ascii=False)


def make_faqs(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return "[]"
    i = rng.randrange(len(FAQ_Q))
    return json.dumps([{"question": FAQ_Q[i], "answer": FAQ_A[i]}], ensure_ascii=False)


def make_row(rng: random.Random, n: int) -> dict[str, str]:
    brand = rng.choice(BRANDS)
    name = f"{rng.choice(ADJS)} {rng.choice(NOUNS)} {rng.randint(1, 99)}"
    if rng.random() < 0.05:
        name += ", 2026 Edition"
    prefix = "".join(c for c in brand if c.isascii() and c.isalpha())[:3].upper()
    sku = f"{prefix}-{rng.randint(100, 999)}-{n:07d}"
    host = slugify(brand)
    url = f"https://shop.{host}.example.com/products/{slugify(name)}-{n}"
    cats = rng.sample(CATS, rng.randint(1, 3))
    n_images = 1 if rng.random() < 0.7 else 2
    images = [f"https://cdn.{host}.example.com/img/{n}-{k}.jpg" for k in range(n_images)]
    has_weight = rng.random() < 0.85
    jsonish = rng.random() < JSONISH_RATE
    return {
        "name": name,
        "sku": sku,
        "productUrl": url,
        "brand": brand,
        "description": make_description(rng, name, rng.random() < MULTILINE_RATE),
        "categories": json.dumps(cats),
        "images": json.dumps(images),
        "price": f"{rng.uniform(4, 900):.2f}",
        "currency": rng.choice(CURRENCIES),
        "availability": rng.choice(AVAIL),
        "weight": (
            f"{rng.uniform(0.1, 3):.2f}" if rng.random() < 0.3 else str(rng.randint(20, 2500))
        )
        if has_weight
        else "",
        "weightUnit": rng.choice(UNITS) if has_weight else "",
        "ratingValue": f"{rng.uniform(2.5, 5):.1f}" if rng.random() < 0.8 else "",
        "reviewCount": str(rng.randint(0, 4000)) if rng.random() < 0.9 else "",
        "variants": make_variants(rng, jsonish),
        "techs": make_techs(rng, jsonish),
        "faqs": make_faqs(rng),
    }


def make_invalid(rng: random.Random, row: dict[str, str], kind: int) -> None:
    if kind == 0:
        row["price"] = "N/A"
    elif kind == 1:
        row["sku"] = row["sku"].replace("-", " ", 1)
    else:
        row["productUrl"] = "javascript:alert(1)"


def generate(rows: int, out: str, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    stats = {
        "rows": rows,
        "duplicate_rows": 0,
        "invalid_rows": 0,
        "invalid_price": 0,
        "invalid_sku": 0,
        "invalid_url": 0,
        "multiline": 0,
        "jsonish": 0,
    }
    kinds = ("invalid_price", "invalid_sku", "invalid_url")
    earlier: list[str] = []
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for n in range(rows):
            row = make_row(rng, n)
            if earlier and rng.random() < DUP_RATE:
                row["sku"] = rng.choice(earlier)  # re-scrape of an earlier product
                stats["duplicate_rows"] += 1
            elif rng.random() < INVALID_RATE:
                kind = n % 3
                make_invalid(rng, row, kind)
                stats["invalid_rows"] += 1
                stats[kinds[kind]] += 1
            if row["sku"] and " " not in row["sku"]:
                earlier.append(row["sku"])
            stats["multiline"] += "\n" in row["description"]
            stats["jsonish"] += row["techs"].startswith("{'")
            writer.writerow([row[c] for c in HEADER])
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20261130)
    args = ap.parse_args(argv)
    stats = generate(args.rows, args.out, args.seed)
    json.dump(stats, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
