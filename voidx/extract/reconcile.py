"""One value per field when the page's sources disagree, with the losers and the reason kept.

Sources: ``selectors`` (the user's rules), ``jsonld``, ``microdata``, ``embedded`` (state
blobs), ``opengraph`` and ``dom`` (what the page shows, read by heuristics).

Precedence, by field:

* **price** — what the page shows the shopper for the current offer wins:
  1. a selector price when the source says ``prefer = "selectors"``;
  2. the first structured price (selectors, JSON-LD, microdata, embedded, OpenGraph) that the
     page also shows as a current price;
  3. else the page's own best price, when it is shown confidently as the product's price (the
     structured price is then a regular/was price, or a stale one);
  4. else the first structured price; else a weaker visible price.
  Equal decimals are one price (``2879.2`` = ``2879.20``); prices in cents from Shopify-like
  state are divided by 100.
* **availability** — the page's stock message or a disabled / "sold out" buy button, then
  structured data, then an active buy button; ``unknown`` rather than a guess.
* **currency** — the chosen price's own, else any structured currency, else the symbol shown.
* **sku** — selectors, JSON-LD, microdata, embedded, then labelled page text; never a token of
  the product's name.
* **everything else** — selectors, JSON-LD, microdata, embedded, OpenGraph, then the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voidx.extract.casing import lower
from voidx.extract.dom import CONFIDENT, DomReading
from voidx.extract.normalize import (
    clean_text,
    currency_code,
    parse_availability,
    parse_price,
    sku_like,
)

STRUCTURED_ORDER = ("selectors", "jsonld", "microdata", "embedded", "opengraph")


@dataclass(slots=True)
class Candidate:
    field: str
    value: Any
    source: str
    score: float = 0.0
    detail: str = ""
    why: str = ""  # why it won or lost
    currency: str | None = None
    option: tuple[bool, str] | None = None  # a page price's radio option (DomCandidate.option)


@dataclass
class Decision:
    values: dict[str, Any] = field(default_factory=dict)
    chosen: dict[str, Candidate] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)

    def provenance(self) -> dict[str, Any]:
        """field -> {source, value, rejected: [{source, value, why}]}, for the record."""
        out: dict[str, Any] = {name: {"source": w.source, "value": w.value, "why": w.why}
                               for name, w in self.chosen.items()}
        for c in self.candidates:  # one pass: the losers that disagree with their winner
            winner = self.chosen.get(c.field)
            if winner is None or c is winner or c.value == winner.value \
                    or c.value in (None, ""):
                continue
            rejected = out[c.field].setdefault("rejected", [])
            if len(rejected) < 6:
                rejected.append({"source": c.source, "value": c.value, "why": c.why})
        return out


def reconcile(sources: dict[str, dict[str, Any]], dom: DomReading, *,
              prefer_selectors: bool = False, data_shown: bool = False) -> Decision:
    """``sources``: source name -> raw field values (cents already flagged by ``_cents``);
    ``data_shown``: the page was not read, but found to show the data's price as written with
    nothing around it that disagrees (``dom`` is then empty)."""
    decision = Decision()
    order = [s for s in STRUCTURED_ORDER if s in sources]
    if not prefer_selectors and "selectors" in order:
        # The user's rules fill gaps; structured data goes first unless they say otherwise.
        order = [*[s for s in order if s != "selectors"], "selectors"]
    if sources.get("embedded", {}).get("selected"):
        # The variant the page preselects is the current offer; product-level data (a price
        # range, the parent SKU) describes all variants.
        order = ["embedded", *[s for s in order if s != "embedded"]]
    prices = _structured_prices(sources, order)
    decision.candidates.extend(prices)
    visible = [Candidate("price", round(c.value, 2), "dom", c.score, c.text,
                         "; ".join(c.reasons) or "shown on the page", c.currency, c.option)
               for c in dom.prices]
    decision.candidates.extend(visible)
    _fix_cents(prices, visible)
    price = _choose_price(prices, visible, prefer_selectors,
                          bool(sources.get("embedded", {}).get("selected")), data_shown)
    if price is not None:
        decision.chosen["price"] = price
        decision.values["price"] = price.value
    _choose_currency(decision, sources, order, dom)
    _choose_availability(decision, sources, order, dom)
    _choose_sku(decision, sources, order, dom)
    for name in ("name", "gtin", "brand", "category", "rating", "review_count", "image"):
        for source in order:
            value = sources[source].get(name)
            if value in (None, "", []):
                continue
            candidate = Candidate(name, value, source)
            decision.candidates.append(candidate)
            if name not in decision.chosen:
                candidate.why = f"first source with a {name}"
                decision.chosen[name] = candidate
                decision.values[name] = value
    if "name" not in decision.values and dom.name:
        candidate = Candidate("name", dom.name, "dom", why="the page's title")
        decision.candidates.append(candidate)
        decision.chosen["name"] = candidate
        decision.values["name"] = dom.name
    return decision


def _structured_prices(sources: dict[str, dict[str, Any]], order: list[str]
                       ) -> list[Candidate]:
    out = []
    for source in order:
        raw = sources[source].get("price")
        if raw in (None, ""):
            continue
        amount, currency = parse_price(raw, _str(sources[source].get("currency")))
        if amount is None:
            continue
        if sources[source].get("cents") and float(amount).is_integer():
            amount = amount / 100
        out.append(Candidate("price", round(amount, 2), source, detail=str(raw)[:80],
                             currency=currency))
    return out


def _fix_cents(prices: list[Candidate], visible: list[Candidate]) -> None:
    """An integer state price that the page shows divided by 100 was in cents."""
    shown = {c.value for c in visible}
    for c in prices:
        if c.source == "embedded" and c.value not in shown and round(c.value / 100, 2) in shown \
                and float(c.value).is_integer():
            c.value = round(c.value / 100, 2)
            c.detail += " (cents)"


def _choose_price(prices: list[Candidate], visible: list[Candidate], prefer_selectors: bool,
                  selected_variant: bool = False, data_shown: bool = False
                  ) -> Candidate | None:
    best = max(visible, key=lambda c: c.score) if visible else None
    shown_current = {c.value for c in visible if c.score >= CONFIDENT - 2
                     and "struck" not in c.why and "was" not in c.why
                     and "inside a '" not in c.why and "instalment" not in c.why
                     and "tax note" not in c.why}
    if prefer_selectors and prices and prices[0].source == "selectors":
        return _win(prices[0], "the source prefers its selectors", prices, visible)
    option = _preselected_instead(prices, visible)
    if option is not None:
        for loser in prices:
            loser.why = _why_not_shown(loser.value, visible)
        option.why = f"what the page shows ({option.why})"
        _mark_losers(option, visible)
        return option
    if selected_variant and prices and prices[0].source == "embedded":
        return _win(prices[0], "the price of the variant the page preselects", prices, visible)
    for candidate in prices:
        if candidate.value in shown_current:
            shown_score = max(c.score for c in visible if c.value == candidate.value)
            if best is not None and best.value != candidate.value and best.score >= CONFIDENT \
                    and best.score - shown_score >= 2:
                break  # the page shows another price far more prominently
            return _win(candidate, "the page shows this price for the product", prices, visible)
    if best is not None and best.score >= CONFIDENT and (
            not prices or "inside the main product" in best.why):
        # A price shown outside the product's own area does not overrule its data.
        for loser in prices:
            loser.why = _why_not_shown(loser.value, visible)
        best.why = f"what the page shows ({best.why})"
        _mark_losers(best, visible)
        return best
    if prices and best is not None and best.score >= 2 and best.value != prices[0].value:
        same = [c for c in visible if c.value == prices[0].value
                and "inside a '" not in c.why and "product card" not in c.why]
        if same and all("struck" in c.why or "was" in c.why for c in same):
            # The page shows the structured price only struck through: a regular price.
            for loser in prices:
                loser.why = _why_not_shown(loser.value, visible)
            best.why = f"the page's price next to the struck structured one ({best.why})"
            _mark_losers(best, visible)
            return best
    if prices:
        return _win(prices[0], (
            f"{prices[0].source} price, shown on the page as written with no sign of a sale, a "
            "regular price or another stock state around it") if data_shown else
            "first structured price (the page shows none confidently)", prices, visible)
    if best is not None and best.score >= 2:
        best.why = f"the page's best price candidate ({best.why})"
        _mark_losers(best, visible)
        return best
    return None


def _preselected_instead(prices: list[Candidate], visible: list[Candidate]) -> Candidate | None:
    """The price of the option a page preselects, when the data's price is that of another
    option of the same group (a one-time purchase beside a preselected subscription, another
    licence) and the page shows it nowhere else as its current price: the preselected one is
    what the shopper pays."""
    if not prices:
        return None
    data = prices[0].value
    groups = {c.option[1] for c in visible if c.value == data and c.option and not c.option[0]}
    if not groups or any(c.value == data and c.score >= CONFIDENT and c.option is None
                         for c in visible):
        return None
    options = [c for c in visible if c.value != data and c.score >= CONFIDENT
               and c.option and c.option[0] and c.option[1] in groups]
    return max(options, key=lambda c: c.score, default=None)


def _win(winner: Candidate, why: str, prices: list[Candidate], visible: list[Candidate]
         ) -> Candidate:
    winner.why = why
    for loser in prices:
        if loser is not winner and loser.value != winner.value:
            loser.why = f"lower precedence than {winner.source}; " + _why_not_shown(
                loser.value, visible)
    _mark_losers(winner, visible)
    return winner


def _mark_losers(winner: Candidate, visible: list[Candidate]) -> None:
    for c in visible:
        if c is not winner and c.value != winner.value and not c.why.startswith("lost"):
            c.why = f"lost (score {c.score:.1f}): {c.why}"


def _why_not_shown(value: float, visible: list[Candidate]) -> str:
    same = [c for c in visible if c.value == value]
    if not same:
        return "not shown on the page"
    return "shown on the page only as: " + same[0].why


def _choose_currency(decision: Decision, sources: dict[str, dict[str, Any]], order: list[str],
                     dom: DomReading) -> None:
    chosen = decision.chosen.get("price")
    options: list[tuple[str, str]] = []
    if chosen is not None and chosen.source != "dom":
        own = chosen.currency or _currency(sources[chosen.source].get("currency"))
        if own:
            options.append((chosen.source, own))
    options.extend((s, c) for s in order if (c := _currency(sources[s].get("currency"))))
    if chosen is not None and chosen.source == "dom":
        shown = next((c.currency for c in dom.prices if round(c.value, 2) == chosen.value
                      and c.currency), None)
        if shown:
            options.insert(0 if not options else 1, ("dom", shown))
    options.extend(("dom", c.currency) for c in sorted(dom.prices, key=lambda c: -c.score)
                   if c.currency)
    made = [Candidate("currency", currency, source) for source, currency in options]
    decision.candidates.extend(made)
    if made and chosen is not None:
        winner = made[0]
        winner.why = "currency of the chosen price" if winner.source == chosen.source else \
            "the page's declared currency"
        decision.chosen["currency"] = winner
        decision.values["currency"] = winner.value


def _choose_availability(decision: Decision, sources: dict[str, dict[str, Any]],
                         order: list[str], dom: DomReading) -> None:
    ranked: list[Candidate] = []
    if "selectors" in sources and sources["selectors"].get("availability"):
        ranked.append(Candidate("availability",
                                parse_availability(sources["selectors"]["availability"]),
                                "selectors", 10, why="the source's selector"))
    strong = sorted((c for c in dom.availability if c.score >= 3), key=lambda c: -c.score)
    ranked.extend(Candidate("availability", c.value, "dom", c.score, c.text,
                            "what the page shows: " + "; ".join(c.reasons)) for c in strong)
    for source in order:
        if source == "selectors":
            continue
        value = parse_availability(sources[source].get("availability"))
        if value != "unknown":
            ranked.append(Candidate("availability", value, source, 2,
                                    str(sources[source].get("availability"))[:60],
                                    f"{source} availability"))
    weak = [c for c in dom.availability if c.score < 3]
    ranked.extend(Candidate("availability", c.value, "dom", c.score, c.text,
                            "; ".join(c.reasons)) for c in weak)
    ranked = [c for c in ranked if c.value != "unknown"]
    decision.candidates.extend(ranked)
    if ranked:
        decision.chosen["availability"] = ranked[0]
        decision.values["availability"] = ranked[0].value


def _choose_sku(decision: Decision, sources: dict[str, dict[str, Any]], order: list[str],
                dom: DomReading) -> None:
    # The product's names: the first structured one (the record's, unless no source has
    # one) and the page's title; a labelled "SKU" that is a word of either is not one.
    names = [lower(str(n)) for n in (
        next((sources[s]["name"] for s in order if sources[s].get("name") not in (None, "", [])),
             None), dom.name) if n]
    ranked = [Candidate("sku", clean_text(sources[s]["sku"]), s, why=f"{s} sku")
              for s in order if sources[s].get("sku") not in (None, "")]
    shown = [c for c in dom.skus if c.score >= 2.5 and sku_like(str(c.value))]
    preselected = bool(sources.get("embedded", {}).get("selected"))
    if ranked and shown and ranked[0].source != "selectors" and not preselected and \
            all(str(c.value) != ranked[0].value for c in dom.skus):
        # The page labels another SKU (the selected variant's) and never shows this one.
        best = max(shown, key=lambda c: c.score)
        ranked.insert(0, Candidate("sku", str(best.value), "dom", best.score, best.text,
                                   "what the page shows as the SKU; structured data's "
                                   f"{ranked[0].value!r} is not shown"))
    for c in sorted(dom.skus, key=lambda c: -c.score):
        value = str(c.value)
        if not sku_like(value):
            continue
        if any(lower(value) in name.split() or (len(value) > 3 and lower(value) in name)
               for name in names):
            decision.candidates.append(Candidate("sku", value, "dom", c.score, c.text,
                                                 "refused: part of the product's name"))
            continue
        ranked.append(Candidate("sku", value, "dom", c.score, c.text,
                                "; ".join(c.reasons) or "labelled on the page"))
    decision.candidates.extend(ranked)
    if ranked:
        decision.chosen["sku"] = ranked[0]
        decision.values["sku"] = ranked[0].value


def _currency(value: object) -> str | None:
    return currency_code(str(value)) if value else None


def _str(value: object) -> str | None:
    return None if value is None else str(value)
