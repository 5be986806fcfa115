"""Deterministic, realistic scraper catalog CSVs for the benchmarks (not a test fixture).

Rows look like the scrapers' output: quoted multi-line descriptions (LF and CRLF inside quotes),
escaped ``""`` quotes, commas inside cells, non-ASCII text and emoji, JSON-ish cells, US and EU
price formats, ~2.5 % later rows updating an earlier SKU and ~1.5 % rows the validator rejects.
The average row is ~550 bytes, like the production files the design's reference rates used.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

HEADER = (
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
    "color",
    "material",
    "seller",
)

_PRODUCTS = (
    ("2P Backpacking Tent", "TENT", "Tents, Backpacking", 189, 699),
    ("Down Sleeping Bag -7°C", "BAG", "Sleeping Bags, Down", 229, 649),
    ("Hooded Down Jacket", "JKT", "Jackets, Insulation", 159, 429),
    ("Rain Shell Jacket", "JKT", "Jackets, Rainwear", 99, 379),
    ("Canister Stove", "STV", "Stoves, Cooking", 39, 149),
    ("45L Trekking Pack", "PACK", "Packs, Backpacking", 149, 349),
    ("Titanium Mug 450ml", "MUG", "Kitchen, Mugs", 19, 49),
    ("Insulated Sleeping Pad", "PAD", "Sleeping Pads", 89, 229),
    ("Headlamp 400 lm", "LAMP", "Lighting", 29, 89),
    ("Water Filter", "H2O", "Water, Hydration", 29, 119),
)
_LINES = ("UltraLight", "Ridge", "Alpine", "Éclair", "Zürich", "Montaña", "Kōya", "Fjellvår")
_BRANDS = ("TrailCo", "Cordillera", "Summit & Pine", "Kōgen Gear", "Høyfjell", "Bergsüd")
_COLORS = ("Forest Green", "Sand", "Black", "Glacier Blue", "Rojo Ñandú", "Schiefergrau")
_MATERIALS = ("Pertex® Quantum", "Ripstop nylon, 20D", "Titanium", "Merino")
_SELLERS = ("Northline", "Bergsport Müller GmbH", "Aventura Ñuble S.A.")
_AVAILABILITY = ("in_stock", "in_stock", "in_stock", "out_of_stock", "preorder", "")
_BLURBS = (
    'Three-season shelter with a "bathtub" floor, two vestibules.',
    'Backed by our "no questions asked" repair program, seams to zips.',
    "Légère et compacte — idéale pour le bivouac en altitude.",
    "Wasserdicht, atmungsaktiv und für Touren über 3.000 m geeignet.",
    "Diseñada para la montaña: ligera, cálida y resistente, año tras año.",
    "日本語の取扱説明書付き。軽量でコンパクト。",
    "Tested on the PCT 🏕️, the JMT and the Kungsleden ⛰️.",
    "Bluesign®-approved fabrics; PFAS-free DWR, 20,000 mm / 20,000 g/m²/24h.",
)
# Scraped descriptions break lines both ways inside their quoted cells.
_BREAKS = (" ", "\n", "\r\n", "\n\n• ")
_INVALID = (
    ("name", ""),
    ("productUrl", "http://192.168.0.10/admin"),
    ("price", "call for price"),
    ("sku", ""),
)


def _price(rng: random.Random, amount: int, eu: bool) -> str:
    cents = rng.choice((0, 50, 95, 99))
    if eu:
        whole = f"{amount:,}".replace(",", ".")
        return f"{whole},{cents:02d} €"
    return f"${amount:,}.{cents:02d}"


def _row(rng: random.Random, index: int) -> list[str]:
    noun, code, categories, lo, hi = rng.choice(_PRODUCTS)
    name = f"{rng.choice(_LINES)} {noun}"
    sku = f"{code}-{index:07d}"
    slug = name.lower().replace(" ", "-")
    parts = rng.sample(_BLURBS, rng.randint(2, 4))
    description = parts[0]
    for extra in parts[1:]:
        description += rng.choice(_BREAKS) + extra
    images = json.dumps(
        [f"https://cdn.trailco.example/img/{sku}-{i}.jpg" for i in range(rng.randint(1, 3))]
    )
    eu = rng.random() < 0.3
    return [
        name,
        sku,
        f"https://www.trailco.example/products/{slug}?sku={sku}",
        rng.choice(_BRANDS),
        description,
        json.dumps(categories.split(", ")) if rng.random() < 0.5 else categories,
        images,
        _price(rng, rng.randint(lo, hi), eu),
        "EUR" if eu else "USD",
        rng.choice(_AVAILABILITY),
        str(rng.randint(60, 2600)),
        rng.choice(("g", "g", "kg", "oz", "lb")),
        f"{rng.uniform(3.2, 5.0):.1f}",
        str(rng.randint(0, 900)),
        rng.choice(_COLORS),
        rng.choice(_MATERIALS),
        rng.choice(_SELLERS),
    ]


def iter_tagged_rows(seed: int = 7) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(kind, row)`` forever; kind is ``product``, ``update`` (~2.5 %) or ``invalid``."""
    rng = random.Random(seed)
    index = 0
    recent: list[list[str]] = []
    while True:
        roll = rng.random()
        if roll < 0.025 and recent:
            update = list(rng.choice(recent))
            update[HEADER.index("price")] = _price(rng, rng.randint(10, 99), False)
            update[HEADER.index("description")] = ""
            yield "update", update
            continue
        index += 1
        row = _row(rng, index)
        kind = "product"
        if roll > 0.985:
            column, value = _INVALID[index % len(_INVALID)]
            row[HEADER.index(column)] = value
            kind = "invalid"
        recent.append(row)
        if len(recent) > 1000:
            recent = recent[-500:]
        yield kind, row


def iter_rows(seed: int = 7) -> Iterator[list[str]]:
    """Yield catalog rows forever: products, ~2.5 % SKU updates, ~1.5 % invalid rows."""
    for _kind, row in iter_tagged_rows(seed):
        yield row


def _encode(rows: list[list[str]], *, header: bool) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def build_csv(rows: int, *, seed: int = 7) -> bytes:
    """A catalog CSV with exactly ``rows`` logical data records."""
    generator = iter_rows(seed)
    return _encode([next(generator) for _ in range(rows)], header=True)


def write_csv(path: Path, target_bytes: int, *, seed: int = 7, batch: int = 5_000) -> int:
    """Write a catalog CSV of at least ``target_bytes`` to ``path``; return its record count."""
    generator = iter_rows(seed)
    written = 0
    records = 0
    with path.open("wb") as sink:
        while written < target_bytes:
            data = _encode([next(generator) for _ in range(batch)], header=records == 0)
            sink.write(data)
            written += len(data)
            records += batch
    return records


def write_rows(path: Path, rows: int, *, seed: int = 7, batch: int = 5_000) -> dict[str, int]:
    """Stream exactly ``rows`` records to ``path``; return what was planted and the size.

    Memory stays at one batch however large the file, so 200k-row and 1 GB inputs are cheap.
    """
    generator = iter_tagged_rows(seed)
    planted = {"rows": 0, "product": 0, "update": 0, "invalid": 0, "bytes": 0}
    with path.open("wb") as sink:
        while planted["rows"] < rows:
            take = min(batch, rows - planted["rows"])
            tagged = [next(generator) for _ in range(take)]
            for kind, _row in tagged:
                planted[kind] += 1
            data = _encode([row for _kind, row in tagged], header=planted["rows"] == 0)
            sink.write(data)
            planted["rows"] += take
            planted["bytes"] += len(data)
    return planted
