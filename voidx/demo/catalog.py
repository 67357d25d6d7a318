"""The demo shop's product catalog: deterministic products and their day-by-day offers.

Everything derives from ``seed``, so tests and benchmarks can state exactly what a correct
crawler and extractor should see on any day (``Catalog.expected_record``).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

__all__ = ["AVAILABILITIES", "CATEGORY_NAMES", "Catalog", "Offer", "Product", "gtin13_check_digit"]

AVAILABILITIES = ("in_stock", "out_of_stock", "preorder")


@dataclass(frozen=True)
class Product:
    id: int
    slug: str
    name: str
    brand: str
    category: str
    sku: str
    gtin: str
    base_price: float
    currency: str
    template: str
    image: str
    rating: float
    review_count: int
    js_only: bool
    description: str = ""


@dataclass(frozen=True)
class Offer:
    price: float | None
    availability: str
    regular_price: float | None = None


@dataclass(frozen=True)
class _CategorySpec:
    name: str
    currency: str
    weight: int
    price_range: tuple[float, float]
    brands: tuple[str, ...]
    series: tuple[str, ...]
    models: tuple[str, ...]
    nouns: tuple[str, ...]
    attrs: tuple[str, ...]
    blurbs: tuple[str, ...]


_SPECS: dict[str, _CategorySpec] = {
    "laptops": _CategorySpec(
        "Laptops", "USD", 11, (399.0, 2499.0),
        ("Nordvik", "Altair", "Kestrel", "Lumo", "Veritas"),
        ("Aero", "Pro", "Air", "Slate", "Zen", "Volt"),
        ("13", "14", "15", "16", "X1", "S5"),
        ("Laptop", "Ultrabook", "2-in-1 Laptop"),
        ("8GB", "16GB", "32GB", "512GB SSD", "1TB SSD"),
        ("A backlit keyboard and a precision glass touchpad make long sessions comfortable.",
         "The all-day battery lasts up to 14 hours of mixed use.",
         "Its aluminium chassis weighs barely more than a kilogram."),
    ),
    "phones": _CategorySpec(
        "Phones", "USD", 10, (149.0, 1399.0),
        ("Orbit", "Lumo", "Pinecone", "Halden"),
        ("One", "Nova", "Edge", "Mini", "Max", "Lite"),
        ("5", "6", "7", "8", "12", "13"),
        ("Smartphone", "5G Smartphone"),
        ("128GB", "256GB", "512GB", "Midnight", "Silver", "Sage"),
        ("The triple camera handles low light without a tripod.",
         "A 120 Hz display keeps scrolling smooth.",
         "It charges to 50% in under twenty minutes."),
    ),
    "headphones": _CategorySpec(
        "Headphones", "USD", 10, (19.99, 449.0),
        ("Sonar", "Aurelia", "Basswell", "Quietude"),
        ("Studio", "Pulse", "Drift", "Echo"),
        ("100", "200", "300", "500", "700", "900", "Lite", "Max"),
        ("Wireless Headphones", "Earbuds", "Over-Ear Headphones"),
        ("Black", "White", "Noise Cancelling", "Sand"),
        ("Active noise cancelling silences trains and open offices alike.",
         "Memory-foam cushions keep them comfortable for hours.",
         "Multipoint Bluetooth pairs with a laptop and a phone at once."),
    ),
    "cameras": _CategorySpec(
        "Cameras", "USD", 7, (149.0, 2499.0),
        ("Fotona", "Kestrel", "Lensmark"),
        ("Vista", "Pixa", "Optix"),
        ("10", "20", "50", "90", "R5", "R7", "M3", "G2"),
        ("Mirrorless Camera", "Action Camera", "Compact Camera"),
        ("24MP", "4K", "Body Only", "with 18-55mm Lens"),
        ("In-body stabilisation keeps handheld video steady.",
         "Weather sealing lets it work in rain and dust.",
         "Fast hybrid autofocus tracks eyes and animals."),
    ),
    "kitchen": _CategorySpec(
        "Kitchen", "USD", 12, (12.0, 899.0),
        ("Hearthly", "Cucina Verde", "Brightpan", "Oakhollow"),
        ("Classic", "Artisan", "Pro", "Everyday"),
        ("", "II", "300", "Plus"),
        ("Stand Mixer", "Espresso Machine", "Cast Iron Skillet", "Chef Knife", "Blender", "Kettle"),
        ("1.7L", "Stainless Steel", "Red", "12-inch", "Matte Black"),
        ("Dishwasher-safe parts make cleaning up quick.",
         "It is built to last decades of daily cooking.",
         "A two-year warranty covers every part."),
    ),
    "garden": _CategorySpec(
        "Garden", "GBP", 8, (7.0, 599.0),
        ("Greenacre", "Thornbury", "Fernleigh"),
        ("Classic", "Pro", "Compact", "Heritage"),
        ("", "2", "40", "X"),
        ("Hose Reel", "Pruning Shears", "Lawn Mower", "Raised Bed Kit", "Watering Can"),
        ("Heavy Duty", "Galvanised", "Large", "Green", "Compact"),
        ("Weatherproof materials survive a British winter outdoors.",
         "It folds flat for storage in the shed.",
         "Designed with allotment growers in mind."),
    ),
    "books": _CategorySpec(
        "Books", "USD", 14, (4.99, 49.99),
        ("Harbor Press", "Quillstone", "Northlight Books", "Saltmarsh"),
        ("Silent", "Hidden", "Last", "Northern", "Copper", "Winter", "Paper", "Salt", "Glass",
         "Borrowed", "Quiet", "Lost", "Burning", "Midnight", "Wandering", "Iron", "Secret",
         "Drowned", "Summer", "Distant"),
        ("Orchard", "Harbour", "Library", "Atlas", "Garden", "Lighthouse", "Kingdom", "River",
         "Cartographer", "Season", "Archive", "Island", "Clockmaker", "Forest", "Letters",
         "Station", "Republic", "Tide", "Mountain", "Apprentice"),
        ("",),
        ("Paperback", "Hardcover", "Illustrated Edition"),
        ("A debut that critics called quietly devastating.",
         "Includes a new afterword by the author.",
         "Set across three generations of one family."),
    ),
    "toys": _CategorySpec(
        "Toys", "USD", 8, (5.99, 199.0),
        ("Playmesa", "Brickhaven", "Tinkertot"),
        ("Junior", "Explorer", "Creator", "Classic"),
        ("", "2", "Deluxe"),
        ("Building Set", "Jigsaw Puzzle", "Plush Bear", "RC Car", "Board Game"),
        ("500 Pieces", "1000 Pieces", "2000 Pieces", "Ages 3+", "Ages 6+", "Ages 8+", "Rainbow"),
        ("Every piece is made from non-toxic, recyclable plastic.",
         "Hours of screen-free play for the whole family.",
         "Batteries are included where needed."),
    ),
    "shoes": _CategorySpec(
        "Shoes", "USD", 10, (29.99, 249.0),
        ("Stridewell", "Runlite", "Cobble & Co"),
        ("Trail", "Road", "Cloud", "Classic"),
        ("2", "3", "GTX", "Low"),
        ("Running Shoes", "Sneakers", "Hiking Boots", "Loafers"),
        ("Size 7", "Size 8", "Size 9", "Size 10", "Size 11", "Size 12", "Wide Fit", "Black"),
        ("A cushioned midsole absorbs impact on long runs.",
         "The grippy outsole handles wet pavements and trails.",
         "Recycled materials make up most of the upper."),
    ),
    "watches": _CategorySpec(
        "Watches", "EUR", 7, (79.0, 2499.0),
        ("Montclair", "Tempora", "Halvard"),
        ("Diver", "Field", "Chrono", "Classic"),
        ("36", "38", "39", "40", "41", "42", "44"),
        ("Watch", "Automatic Watch"),
        ("Steel Bracelet", "Leather Strap", "Sapphire Glass", "Quartz", "Blue Dial", "Green Dial"),
        ("Water resistant to 200 metres.",
         "A sapphire crystal resists everyday scratches.",
         "Assembled and regulated by hand."),
    ),
}

# Kinds of product whose price range differs from their category's.
_NOUN_PRICES: dict[str, tuple[float, float]] = {
    "Earbuds": (19.99, 249.0),
    "Wireless Headphones": (39.0, 399.0),
    "Over-Ear Headphones": (59.0, 449.0),
    "Action Camera": (149.0, 549.0),
    "Compact Camera": (199.0, 999.0),
    "Mirrorless Camera": (549.0, 2499.0),
    "Stand Mixer": (149.0, 699.0),
    "Espresso Machine": (129.0, 899.0),
    "Cast Iron Skillet": (19.0, 89.0),
    "Chef Knife": (24.0, 189.0),
    "Blender": (39.0, 349.0),
    "Kettle": (19.0, 129.0),
    "Hose Reel": (19.0, 129.0),
    "Pruning Shears": (9.0, 59.0),
    "Lawn Mower": (149.0, 599.0),
    "Raised Bed Kit": (39.0, 249.0),
    "Watering Can": (7.0, 39.0),
    "Building Set": (14.0, 199.0),
    "Jigsaw Puzzle": (6.0, 39.0),
    "Plush Bear": (9.0, 49.0),
    "RC Car": (29.0, 179.0),
    "Board Game": (14.0, 69.0),
}

CATEGORY_NAMES: dict[str, str] = {slug: spec.name for slug, spec in _SPECS.items()}

_SLUG_RE = re.compile(r"[^a-z0-9]+")

# Per-day probabilities of the offer model (see Catalog.offer).
_P_PROMO_START = 0.05  # a drop or a spike begins
_P_PROMO_END = 0.35  # a running drop/spike ends
_P_REPRICE = 0.02  # a lasting small change of the list price
_P_STOCKOUT = 0.02
_P_RESTOCK = 0.4
_TIMELINE_CHUNK = 4


def gtin13_check_digit(first12: str) -> str:
    """The GS1 check digit for the 12 leading digits of a GTIN-13."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _slugify(text: str) -> str:
    return _SLUG_RE.sub("-", text.lower()).strip("-")


def _shelf_price(value: float) -> float:
    """Round a raw price to what a shop would print: 4.99, 79.99, 249.99, 1,299.00."""
    if value < 200:
        return max(round(round(value) - 0.01, 2), 0.99)
    if value < 1000:
        return round(round(value / 5) * 5 - 0.01, 2)
    return float(round(value / 50) * 50 - 1)


class Catalog:
    """A seeded, deterministic product catalog with day-by-day offers."""

    def __init__(self, n_products: int = 300, seed: int = 7) -> None:
        if n_products < 0:
            raise ValueError("n_products must be >= 0")
        self.seed = seed
        self.categories: list[str] = list(_SPECS)
        self.products: list[Product] = []
        self._by_slug: dict[str, Product] = {}
        self._timelines: dict[int, list[Offer]] = {}
        self._scripted: dict[int, str] = {}
        self._preorder_until: dict[int, int] = {}
        self._call_for_price: set[int] = set()
        self._build(n_products)

    # -- construction -----------------------------------------------------------------

    def _build(self, n: int) -> None:
        rng = random.Random(self.seed)
        specs = list(_SPECS.items())
        weights = [spec.weight for _, spec in specs]
        company_prefix = {
            brand: f"{rng.randrange(40, 50)}{rng.randrange(10000, 100000)}"
            for _, spec in specs
            for brand in spec.brands
        }
        js_ids = set(rng.sample(range(n), min(6, n // 25)))
        names: set[str] = set()
        for pid in range(n):
            cat, spec = rng.choices(specs, weights)[0]
            brand = rng.choice(spec.brands)
            # Names are unique so that a name identifies a product, in tests and in reports.
            for _ in range(8):
                name, noun = self._name(rng, cat, spec, brand)
                if name not in names:
                    break
            else:
                name = f"{name} (Ref. {pid})"
            names.add(name)
            slug = _slugify(name)
            if slug in self._by_slug:
                slug = f"{slug}-{pid}"
            lo, hi = _NOUN_PRICES.get(noun, spec.price_range)
            base = _shelf_price(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            js_only = pid in js_ids
            if js_only:
                template = "jsonld"
            else:
                t = rng.random()
                template = "jsonld" if t < 0.45 else "microdata" if t < 0.80 else "plain"
            reviews = 0 if rng.random() < 0.05 else int(rng.paretovariate(1.2) * 6)
            rating = round(rng.uniform(2.8, 5.0), 1) if reviews else 0.0
            first12 = f"{company_prefix[brand]}{pid % 100000:05d}"
            product = Product(
                id=pid,
                slug=slug,
                name=name,
                brand=brand,
                category=cat,
                sku=f"{_slugify(brand)[:3].upper()}-{cat[:2].upper()}{pid:05d}",
                gtin=first12 + gtin13_check_digit(first12),
                base_price=base,
                currency=spec.currency,
                template=template,
                image=f"/static/img/{slug}.jpg",
                rating=rating,
                review_count=min(reviews, 25000),
                js_only=js_only,
                description=self._description(rng, name, brand, spec),
            )
            self.products.append(product)
            self._by_slug[slug] = product
            roll = rng.random()
            if roll < 0.03:
                self._call_for_price.add(pid)
            elif roll < 0.06:
                # Some pre-orders are released within the first days, some stay pre-orders.
                self._preorder_until[pid] = rng.choice((2, 3, 4, 6, 9, 10_000))
        self._script_events(rng)

    @staticmethod
    def _name(rng: random.Random, cat: str, spec: _CategorySpec, brand: str) -> tuple[str, str]:
        """A product name and the kind of product it names."""
        if cat == "books":
            article = rng.choice(("The", "Our", "Their"))
            title = f"{article} {rng.choice(spec.series)} {rng.choice(spec.models)}"
            return f"{title}, {rng.choice(spec.attrs)}", "Book"
        noun = rng.choice(spec.nouns)
        parts = [brand, rng.choice(spec.series), rng.choice(spec.models), noun]
        return " ".join(p for p in parts if p) + ", " + rng.choice(spec.attrs), noun

    @staticmethod
    def _description(rng: random.Random, name: str, brand: str, spec: _CategorySpec) -> str:
        if spec.name == "Books":
            first = f"{name.split(',')[0]} is published by {brand}."
        else:
            first = f"The {name} is part of {brand}'s {spec.name.lower()} range."
        rest = rng.sample(spec.blurbs, 2)
        return " ".join([first, *rest])

    def _script_events(self, rng: random.Random) -> None:
        """Pin a few events in days 2-5 so every catalog of a useful size demonstrates them."""
        eligible = [
            p.id
            for p in self.products
            if not p.js_only
            and p.id not in self._call_for_price
            and p.id not in self._preorder_until
        ]
        kinds = ("drop", "spike", "stockout", "drop", "spike", "stockout")
        for pid, kind in zip(rng.sample(eligible, min(len(kinds), len(eligible))), kinds, strict=False):
            self._scripted[pid] = kind

    # -- lookups ----------------------------------------------------------------------

    def by_slug(self, slug: str) -> Product:
        """The product with this slug; KeyError if there is none."""
        return self._by_slug[slug]

    def category_name(self, slug: str) -> str:
        """The display name of a category ("laptops" -> "Laptops")."""
        return CATEGORY_NAMES[slug]

    def in_category(self, category: str) -> list[Product]:
        """The products listed on a category's pages, in listing order (JS-only excluded)."""
        return [p for p in self.products if p.category == category and not p.js_only]

    @property
    def js_products(self) -> list[Product]:
        """The products that only exist in the JavaScript section (/app/)."""
        return [p for p in self.products if p.js_only]

    # -- offers -----------------------------------------------------------------------

    def offer(self, product: Product, day: int) -> Offer:
        """The product's price and stock on ``day`` (1-based); deterministic in seed, product, day.

        Model: the list price holds still on most days. Each day a product may start a drop
        (20-40% off, shown as a sale with the regular price) or a spike (+20-50%), which ends
        after a few days; rarely the list price moves for good by 2-8%. Stock runs out now
        and then and comes back later; pre-orders release on a set day; a few products
        never show a price ("Call for price").
        """
        if day < 1:
            raise ValueError("day must be >= 1")
        timeline = self._timelines.get(product.id)
        if timeline is None or len(timeline) < day:
            upto = max(day, _TIMELINE_CHUNK, 2 * len(timeline or ()))
            timeline = self._timeline(product, upto)
            self._timelines[product.id] = timeline
        return timeline[day - 1]

    def last_changed_day(self, product: Product, day: int) -> int:
        """The latest day <= ``day`` on which the product's offer differed from the day before."""
        for d in range(day, 1, -1):
            if self.offer(product, d) != self.offer(product, d - 1):
                return d
        return 1

    def _timeline(self, product: Product, upto: int) -> list[Offer]:
        pid = product.id
        # One stream per product, consumed at a fixed rate per day, so a longer timeline
        # always starts with the same days as a shorter one.
        rng = random.Random(self.seed * 1_000_003 + pid)
        call_for_price = pid in self._call_for_price
        preorder_until = self._preorder_until.get(pid, 0)
        scripted = self._scripted.get(pid)
        list_price = product.base_price
        promo = 1.0
        stock = "out_of_stock" if rng.random() < 0.02 else "in_stock"
        offers: list[Offer] = []
        bits = rng.getrandbits
        for day in range(1, upto + 1):
            # Five 12-bit uniforms from one draw: fine-grained enough, and much cheaper.
            x = bits(60)
            u_promo = (x & 0xFFF) / 4096
            u_size = (x >> 12 & 0xFFF) / 4096
            u_reprice = (x >> 24 & 0xFFF) / 4096
            u_delta = (x >> 36 & 0xFFF) / 4096
            u_stock = (x >> 48) / 4096
            if day > 1:
                if promo != 1.0:
                    if u_promo < _P_PROMO_END:
                        promo = 1.0
                elif u_promo < _P_PROMO_START / 2:
                    promo = 0.60 + 0.18 * u_size
                elif u_promo < _P_PROMO_START:
                    promo = 1.22 + 0.28 * u_size
                if u_reprice < _P_REPRICE:
                    step = 0.02 + 0.06 * u_delta
                    list_price = _shelf_price(list_price * (1 + step if u_delta < 0.5 else 1 - step))
                if stock == "in_stock":
                    if u_stock < _P_STOCKOUT:
                        stock = "out_of_stock"
                elif u_stock < _P_RESTOCK:
                    stock = "in_stock"
            if scripted is not None and day <= 5:
                promo, stock = self._scripted_state(scripted, day, promo, stock)
            availability = "preorder" if day < preorder_until else stock
            if call_for_price:
                offers.append(Offer(None, availability, None))
                continue
            price = list_price if promo == 1.0 else _shelf_price(list_price * promo)
            regular = list_price if promo < 1.0 else None
            offers.append(Offer(round(price, 2), availability, regular))
        return offers

    @staticmethod
    def _scripted_state(kind: str, day: int, promo: float, stock: str) -> tuple[float, str]:
        if kind == "drop":
            return (0.70 if 2 <= day <= 3 else 1.0), "in_stock"
        if kind == "spike":
            return (1.35 if day == 3 else 1.0), "in_stock"
        return 1.0, ("out_of_stock" if 2 <= day <= 3 else "in_stock")

    # -- oracle -----------------------------------------------------------------------

    def product_path(self, product: Product) -> str:
        """The URL path of the product's page."""
        return f"/app/product/{product.slug}" if product.js_only else f"/product/{product.slug}"

    def expected_record(self, product: Product, day: int) -> dict[str, object]:
        """What a correct extractor should produce from the product's page on ``day``."""
        offer = self.offer(product, day)
        return {
            "url": self.product_path(product),
            "name": product.name,
            "price": offer.price,
            "currency": product.currency,
            "availability": offer.availability,
            "sku": product.sku,
            "gtin": product.gtin,
            "brand": product.brand,
            "category": CATEGORY_NAMES[product.category],
            "rating": product.rating if product.review_count else None,
            "review_count": product.review_count,
        }
