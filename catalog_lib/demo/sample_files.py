"""Realistic sample scraper CSV files (outdoor-gear catalogs) for ``catalog-etl demo``."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from catalog_lib.core.errors import InvalidArgumentError
from catalog_lib.rules.mapping import map_row
from catalog_lib.rules.validation import validate_item

UTF8_BOM: Final = "\ufeff"
_STAMP_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}")

Row = dict[str, str]


@dataclass(frozen=True)
class DemoFile:
    """One generated scraper CSV object and the counts the pipeline must report for it."""

    source: str
    key: str
    data: bytes
    expected_rows: int
    expected_invalid: int


@dataclass(frozen=True)
class _Source:
    """How one retailer's scraper writes its file."""

    name: str
    host: str
    brands: tuple[str, ...]
    header: str  # comma-separated column names, in the scraper's own order
    currency: str
    eu_prices: bool
    python_repr: bool  # techs/variants written as Python repr() instead of JSON
    crlf_bom: bool

    @property
    def columns(self) -> list[str]:
        """Column names in file order."""
        return self.header.split(",")


_SOURCES: Final = (
    _Source(
        "trailco",
        "www.trailco.example",
        ("TrailCo", "Cordillera", "Summit & Pine", "Kōgen Gear"),
        (
            "name,sku,productUrl,brand,description,categories,images,price,currency,availability,"
            "weight,weightUnit,ratingValue,reviewCount,variants,techs,faqs"
        ),
        "USD",
        eu_prices=False,
        python_repr=True,
        crlf_bom=False,
    ),
    _Source(
        "northline",
        "shop.northline.example",
        ("Northline", "Høyfjell", "Montaña Roja", "Bergsüd"),
        (
            "sku,name,brand,model,color,size,material,price,currency,availability,productUrl,"
            "images,categories,description,weight,weightUnit,techs,variants,ratingValue,"
            "reviewCount,seller"
        ),
        "USD",
        eu_prices=False,
        python_repr=False,
        crlf_bom=True,
    ),
    _Source(
        "tiworks",
        "tiworks.example",
        ("Ti Works", "Bergsüd", "Alpenglühen", "Kōgen Gear"),
        (
            "productUrl,sku,name,brand,price,currency,availability,categories,description,"
            "weight,weightUnit,techs,images,ratingValue,reviewCount,condition"
        ),
        "EUR",
        eu_prices=True,
        python_repr=False,
        crlf_bom=False,
    ),
)
# (noun, SKU code, categories, price range in whole currency units, weight range in g,
#  one characteristic techs entry, a product-specific sentence for the description)
_PRODUCTS: Final[tuple[tuple[str, str, tuple[str, ...], tuple[int, int], tuple[int, int],
                             tuple[str, object], str], ...]] = (
    ("2P Backpacking Tent", "TENT", ("Tents", "Backpacking"), (189, 699), (1100, 2600),
     ("Capacity", "2 person"), 'Three-season shelter with a "bathtub" floor, two vestibules.'),
    ("4P Expedition Tent", "TENT", ("Tents", "Mountaineering"), (899, 1899), (4200, 6800),
     ("Freestanding", True), "Four-season geodesic dome, snow flaps, 70D floor."),
    ("Down Sleeping Bag -7°C", "BAG", ("Sleeping Bags", "Down"), (229, 649), (700, 1400),
     ("Fill Power", "800"), "Hydrophobic 800-fill down; baffled hood and draft collar."),
    ("Synthetic Sleeping Bag", "BAG", ("Sleeping Bags", "Synthetic"), (89, 249), (1100, 2100),
     ("Comfort Rating", "-2°C"), "Stays warm when damp, machine washable."),
    ("Hooded Down Jacket", "JKT", ("Jackets", "Insulation"), (159, 429), (280, 560),
     ("Hood", True), "Hooded 800-fill down jacket, packs into its own pocket."),
    ("Rain Shell Jacket", "JKT", ("Jackets", "Rainwear"), (99, 379), (200, 420),
     ("Waterproof", True), "3-layer shell, 20,000 mm / 20,000 g/m²/24h, pit zips."),
    ("Canister Stove", "STV", ("Stoves", "Cooking"), (39, 149), (70, 380),
     ("Fuel", "Isobutane"), "Boils 1 L in 3.5 min; piezo igniter, folding pot supports."),
    ("Liquid Fuel Stove", "STV", ("Stoves", "Cooking"), (119, 229), (330, 520),
     ("Fuel", "White gas, kerosene"), "Multi-fuel burner for cold and high-altitude trips."),
    ("45L Trekking Pack", "PACK", ("Packs", "Backpacking"), (149, 349), (1100, 2000),
     ("Volume", "45 L"), 'Adjustable torso, hip-belt pockets, fits a 15" laptop sleeve.'),
    ("22L Daypack", "PACK", ("Packs", "Daypacks"), (59, 149), (450, 800),
     ("Volume", "22 L"), "Hydration-compatible, rain cover included."),
    ("Titanium Mug 450ml", "MUG", ("Kitchen", "Mugs"), (19, 49), (60, 110),
     ("Material", "Titanium"), "Single-wall titanium, folding handles, ml markings."),
    ("Insulated Sleeping Pad", "PAD", ("Sleeping Pads",), (89, 229), (340, 700),
     ("R-Value", "4.2"), "Baffled air pad, R-value 4.2, pump sack included."),
    ("Headlamp 400 lm", "LAMP", ("Lighting",), (29, 89), (50, 120),
     ("Lumens", 400), "USB-C rechargeable, red night-vision mode, IPX4."),
    ("Trekking Poles (pair)", "POLE", ("Trekking Poles",), (69, 199), (380, 600),
     ("Material", "Carbon"), "Flick-lock, cork grips, 105–135 cm."),
    ("Water Filter", "H2O", ("Water", "Hydration"), (29, 119), (60, 350),
     ("Pore Size", "0.1 micron"), "Hollow-fiber filter, 0.1 µm, up to 4,000 L."),
)  # fmt: skip
_LINES: Final = (
    "UltraLight", "Ridge", "Alpine", "Cascade", "Tundra", "Nordkapp", "Sierra", "Pika",
    "Granite", "Éclair", "Zürich", "Montaña", "Kōya", "Señal", "Fjellvår",
)  # fmt: skip
_COLORS: Final = (
    ("GRN", "Forest Green"), ("SND", "Sand"), ("BLK", "Black"), ("BLU", "Glacier Blue"),
    ("RED", "Rojo Ñandú"), ("ORG", "Sunset Orange"), ("GRY", "Schiefergrau"),
)  # fmt: skip
_BLURBS: Final = (
    'Backed by our "no questions asked" repair program, seams to zips.',
    "Légère et compacte — idéale pour le bivouac en altitude.",
    "Wasserdicht, atmungsaktiv und für Touren über 3.000 m geeignet.",
    "Diseñada para la montaña: ligera, cálida y resistente, año tras año.",
    "日本語の取扱説明書付き。軽量でコンパクト。",
    "Tested on the PCT 🏕️, the JMT and the Kungsleden ⛰️.",
    "Lifetime warranty. Repairs, not replacements, whenever possible.",
    "Bluesign®-approved fabrics; PFAS-free DWR.",
)
# Multi-line cells are common in scraped descriptions, with both Unix and Windows breaks.
_BREAKS: Final = (" ", " ", "\n", "\r\n", "\n\n• ")
_TECHS: Final[tuple[tuple[str, object], ...]] = (
    ("Packed Size", "46 x 15 cm"), ("Warranty", "Lifetime"), ("Origin", "Made in Japan 日本製"),
    ("Recycled Content", "60%"), ("PFAS Free", True), ("Country", "Viet Nam"),
)  # fmt: skip
_SIZES: Final = ("S", "M", "L", "XL")
_AVAILABILITY: Final = ("in_stock",) * 6 + ("out_of_stock", "out_of_stock", "preorder", "")
# Upstream rejects each of these with exactly one reason (domain-spec §3).
_BREAKERS: Final[tuple[tuple[str, Callable[[str], str]], ...]] = (
    ("name", lambda _: ""),
    ("sku", lambda sku: re.sub(r"[-./]", " ", sku)),
    ("productUrl", lambda _: "javascript:alert(1)"),
    ("productUrl", lambda _: "http://192.168.1.10/p"),
    ("price", lambda _: "N/A"),
)


def _slug(text: str) -> str:
    """ASCII URL slug; accents are folded (`Zürich` → `zurich`), other scripts dropped."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _eu_amount(amount: int, cents: int) -> str:
    """Format like ``1.299,00`` (dot thousands, decimal comma)."""
    return f"{amount:,}".replace(",", ".") + f",{cents:02d}"


def _format_price(rng: random.Random, src: _Source, amount: int) -> str:
    """Write a price the way this source's scraper does (US, EU, ranges, bare numbers)."""
    cents = rng.choice((0, 50, 95, 99))
    roll = rng.random()
    if src.eu_prices:
        if roll < 0.1:
            return f"EUR {_eu_amount(amount, cents)}"
        if roll < 0.15:
            return f"{_eu_amount(amount, 0)} € - {_eu_amount(amount * 2, 0)} €"
        return f"{_eu_amount(amount, cents)} €"
    if roll < 0.06:
        return f"${amount} - ${amount * 2}"
    if roll < 0.12:
        return f"{amount}.{cents:02d}"
    return f"${amount:,}.{cents:02d}"


def _format_weight(rng: random.Random, src: _Source, grams: int) -> tuple[str, str, str]:
    """Return (weight, weightUnit, techs Claimed Weight) in one of the formats scrapers use."""
    oz = grams / 28.35
    if src.eu_prices:
        return rng.choice(((f"{grams}", "g", ""), (f"{grams / 1000:.2g}", "kg", "")))
    choices: list[tuple[str, str, str]] = [
        (f"{grams / 1000:.2g}", "kg", ""),
        (f"{oz:.0f} oz", "", ""),
        (f"{grams}", "g", ""),
        (f"{grams / 453.592:.1f}", "lbs", ""),
        ("", "", f"{oz:.0f} oz"),
    ]
    if grams > 460:
        choices.append((f"{int(oz // 16)} lb {round(oz % 16)} oz", "", ""))
    if grams > 1300:
        choices.append((f"{round(grams / 453.592)} pounds", "", ""))
    return rng.choice(choices)


def _dump(value: object, src: _Source) -> str:
    """Serialise a structured cell as JSON or, for Python scrapers, as ``repr()``."""
    return repr(value) if src.python_repr else json.dumps(value, ensure_ascii=False)


def _structured(
    rng: random.Random, src: _Source, sku: str, spec: tuple[str, object], claimed: str
) -> Row:
    """The techs, variants, images and FAQ cells of a product row."""
    techs: dict[str, object] = dict([spec, *rng.sample(_TECHS, rng.randint(0, 2))])
    if claimed:
        techs = {"Claimed Weight": claimed, **techs}
    colors = [name for _, name in rng.sample(_COLORS, rng.randint(1, 3))]
    variants = [{"attribute": "color", "values": colors}]
    if rng.random() < 0.4:
        variants.append({"attribute": "size", "values": list(_SIZES[: rng.randint(2, 4)])})
    base = f"https://cdn.{src.host.removeprefix('www.')}/img/{_slug(sku)}"
    urls = [f"{base}-{i}.jpg" for i in range(1, rng.randint(1, 4) + 1)]
    images = urls[0] if len(urls) == 1 else json.dumps(urls)
    row = {"techs": _dump(techs, src), "variants": _dump(variants, src), "images": images}
    if rng.random() < 0.1:
        faq = {"question": "Is the stuff sack included?", "answer": "Yes, and it's waterproof."}
        row["faqs"] = json.dumps([faq], ensure_ascii=False)
    return row


def _product_row(rng: random.Random, src: _Source, index: int) -> Row:
    """One valid, realistic product row for ``src``."""
    noun, code, categories, (lo, hi), (g_lo, g_hi), spec, blurb = rng.choice(_PRODUCTS)
    color_code, color = rng.choice(_COLORS)
    name = f"{rng.choice(_LINES)} {noun}"
    if rng.random() < 0.05:
        name += " (日本限定)" if rng.random() < 0.5 else " 🏕️ Édition Montagne"
    sku = f"{code}-{index:04d}-{color_code}"
    if src.eu_prices:
        sku = f"TW.{code}.{index:04d}/{color_code}"
    weight, unit, claimed = _format_weight(rng, src, rng.randint(g_lo, g_hi))
    description = blurb if rng.random() < 0.9 else ""
    for extra in rng.sample(_BLURBS, rng.randint(0, 2)):
        description += rng.choice(_BREAKS) + extra if description else extra
    cats = list(categories)
    amount = rng.randint(lo, hi)
    rating = f"{rng.uniform(3.2, 5.0):.1f}" if rng.random() < 0.8 else ""
    reviews = str(min(int(rng.paretovariate(1.2) * 5), 9999)) if rng.random() < 0.8 else ""
    row: Row = {
        "name": name,
        "sku": sku,
        "productUrl": f"https://{src.host}/products/{_slug(name)}?variant={color_code.lower()}",
        "brand": rng.choice(src.brands),
        "description": description,
        "categories": json.dumps(cats) if rng.random() < 0.5 else ", ".join(cats),
        "price": _format_price(rng, src, amount),
        "_amount": str(amount),  # not a column: lets a later update row offer a sale price
        "currency": src.currency,
        "availability": "InStock" if rng.random() < 0.03 else rng.choice(_AVAILABILITY),
        "weight": weight,
        "weightUnit": unit,
        "ratingValue": rating,
        "reviewCount": reviews,
        "model": f"{code}-{2024 + rng.randint(0, 2)}",
        "color": color,
        "size": rng.choice(_SIZES) if code == "JKT" else "One Size",
        "material": rng.choice(("Pertex® Quantum", "Ripstop nylon, 20D", "Titanium", "Merino")),
        "seller": rng.choice(("Northline", "Bergsport Müller GmbH", "Aventura Ñuble S.A.")),
        "condition": "new",
    }
    row.update(_structured(rng, src, sku, spec, claimed))
    return row


def _update_row(rng: random.Random, src: _Source, original: Row) -> Row:
    """A later row for the same SKU with a sale price (and sometimes a new name)."""
    update = {key: original[key] for key in ("sku", "productUrl", "brand", "currency", "name")}
    update["description"] = ""
    if rng.random() < 0.5:
        update["name"] = f"{original['name']} (2026 edition)"
    update["price"] = _format_price(rng, src, int(int(original["_amount"]) * 0.85))
    update["availability"] = rng.choice(("in_stock", "out_of_stock"))
    return update


def _build_rows(rng: random.Random, src: _Source, count: int) -> list[Row]:
    """Product rows, later same-SKU updates and ~1.5 % deliberately invalid rows, shuffled in."""
    n_invalid = max(1, count * 3 // 200)
    n_updates = max(1, count // 40)
    n_base = count - n_invalid - n_updates
    base = [_product_row(rng, src, i + 1) for i in range(n_base)]
    rows = list(base)
    for _ in range(n_updates):
        original = rng.choice(base)
        after = rows.index(original) + 1
        rows.insert(rng.randint(after, len(rows)), _update_row(rng, src, original))
    offset = rng.randrange(len(_BREAKERS))
    for i in range(n_invalid):
        bad = _product_row(rng, src, n_base + i + 1)
        column, breaker = _BREAKERS[(offset + i) % len(_BREAKERS)]
        bad[column] = breaker(bad[column])
        if column == "price":
            bad["availability"] = "InStock"
        rows.insert(rng.randint(0, len(rows)), bad)
    return rows


def _write_csv(src: _Source, rows: list[Row]) -> bytes:
    """Serialise rows with the csv module in the source's line-ending and BOM convention."""
    buffer = io.StringIO(newline="")
    terminator = "\r\n" if src.crlf_bom else "\n"
    writer = csv.writer(buffer, lineterminator=terminator, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(src.columns)
    writer.writerows([row.get(column, "") for column in src.columns] for row in rows)
    text = (UTF8_BOM if src.crlf_bom else "") + buffer.getvalue()
    return text.encode("utf-8")


def count_demo_records(data: bytes) -> tuple[int, int]:
    """Count (logical records, rows the validator rejects) by re-reading ``data`` as CSV."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    records = invalid = 0
    for row in reader:
        records += 1
        invalid += bool(validate_item(map_row(row)))
    return records, invalid


def build_demo_files(
    *, seed: int = 7, rows_per_source: int = 400, stamp: str = "2026-11-30T09-00-00"
) -> list[DemoFile]:
    """Build one deterministic sample scraper CSV per demo source.

    Args:
        seed: seed of the single ``random.Random`` that drives all content.
        rows_per_source: logical data records per file (at least 10).
        stamp: run timestamp in the upstream filename form ``YYYY-MM-DDTHH-MM-SS``.

    Returns:
        Files keyed ``v2/{source}/{source}_{stamp}.csv`` with counts measured by re-reading them.

    Raises:
        InvalidArgumentError: ``rows_per_source`` is below 10 or ``stamp`` is malformed.
    """
    if rows_per_source < 10:
        raise InvalidArgumentError(f"rows_per_source must be at least 10, got {rows_per_source}")
    if not _STAMP_RE.fullmatch(stamp):
        raise InvalidArgumentError(f"stamp must look like 2026-11-30T09-00-00, got {stamp!r}")
    rng = random.Random(seed)
    files: list[DemoFile] = []
    for src in _SOURCES:
        rows = _build_rows(rng, src, rows_per_source)
        data = _write_csv(src, rows)
        records, invalid = count_demo_records(data)
        # The generator's own invariant: every row written is one logical CSV record.
        if records != len(rows):
            raise AssertionError(f"{src.name}: wrote {len(rows)} rows, csv reads {records}")
        key = f"v2/{src.name}/{src.name}_{stamp}.csv"
        files.append(DemoFile(src.name, key, data, records, invalid))
    return files
