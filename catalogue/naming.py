"""Which product a question is about: the page's, or one the question names.

Rules (precision first: a wrong product is the worst answer):
- the page's product wins unless the question names another one better: a proper name,
  a noun that is another product's own title noun ("cardigan" on the roll-neck's page),
  a noun of another family, or more of its words ("sciarpa in cashmere" on the merino
  scarf's page); a noun of the page's family that no other title holds keeps it ("the
  tote" on the shopper's page);
- a typo never takes a question away from the page's product (only exact words do);
- every noun and name the question uses must belong to the product chosen: "the aurora
  wallet" is no wallet of ours and no Aurora product, so nobody is guessed;
- when two products are named equally well, or only by nouns hundreds of products share,
  nobody is guessed (ambiguous).
"""

from __future__ import annotations

from dataclasses import dataclass

from catalogue import vocabulary as vocab
from catalogue.index import CatalogueIndex


@dataclass(frozen=True, slots=True)
class Named:
    """The product a question names: slug, whether the text named it, and if not one but
    several equally (ambiguous) which ones tied."""

    slug: str | None
    named: bool
    ambiguous: bool = False
    tied: tuple[str, ...] = ()


AMBIGUOUS = Named(None, True, ambiguous=True)


def resolve(index: CatalogueIndex, features: set[str], page_slug: str | None,
            exact: set[str] | None = None) -> Named:
    """The product named by the question's features (`exact`: those spelled right), on
    the page of `page_slug` (None: no product page)."""
    if page_slug is not None and exact is not None:
        features = exact  # a typo never overrides the page
    found = _best(index, features, page_slug)
    if found.slug is None:
        return found
    if not _supported(index, found.slug, features):
        return AMBIGUOUS
    return found


def _best(index: CatalogueIndex, features: set[str], page_slug: str | None) -> Named:
    ranked = index.rank(features, keep=page_slug)
    if not ranked:  # nouns hundreds of products share ("borsa" in 100k): nobody is guessed
        return AMBIGUOUS if index.too_common(features) else Named(page_slug, False)
    by_slug = {slug: key for key, slug in ranked}
    if page_slug in by_slug:
        page_key = by_slug[page_slug]
        rivals = [(key, slug) for key, slug in ranked if slug != page_slug]
        if not any(_beats(index, key, slug, page_key, page_slug, features)
                   for key, slug in rivals):
            return Named(page_slug, True)
    if page_slug and page_slug not in by_slug and _family_only(index, features, page_slug):
        return Named(page_slug, True)  # "how big is the tote?" on the shopper's page
    best_key, best = ranked[0]
    if len(ranked) > 1 and ranked[1][0] == best_key:
        tied = tuple(slug for key, slug in ranked if key == best_key)
        return Named(None, True, ambiguous=True, tied=tied)
    return Named(best, True)


def _own_noun(index: CatalogueIndex, feature: str, slug: str) -> bool:
    """A noun that names another product by its title, not a family word for `slug`."""
    return index.in_a_title(feature, but=slug)


def _supported(index: CatalogueIndex, slug: str, features: set[str]) -> bool:
    """Does the product carry every noun and name the question uses? A noun of its own
    family that no other title holds is a customer's synonym ("tote" for the shopper)."""
    families = index.families(slug)
    for feature in {f for f in features if f[0] in "gp"} - index.matched(slug, features):
        if feature[0] == "p" or _own_noun(index, feature, slug):
            return False
        if vocab.FAMILIES_OF_HEADS.get(feature[2:], feature[2:]) not in families:
            return False
    return True


def _family_only(index: CatalogueIndex, features: set[str], page_slug: str) -> bool:
    """The question names products only by nouns of the page product's families that are
    no other product's own title noun."""
    heads = {f for f in features if f[0] == "g"}
    families = index.families(page_slug)
    return bool(heads) and not any(f[0] in "ps" for f in features) and all(
        vocab.FAMILIES_OF_HEADS.get(h[2:], h[2:]) in families
        and not _own_noun(index, h, page_slug) for h in heads)


def _beats(index: CatalogueIndex, key: tuple, slug: str, page_key: tuple, page_slug: str,
           features: set[str]) -> bool:
    """Does a rival take the question from the page's product? Only with words the page's
    product lacks that are not mere family nouns ("tote" on the shopper's page is still
    the shopper): a name, its own title noun, a noun of another family, or more of its
    words ("cappello in feltro" on the beanie's page), or its whole title."""
    own = index.own_features(slug, page_slug, features)
    page_families = index.families(page_slug)
    telling = {f for f in own if f[0] != "g" or _own_noun(index, f, page_slug)
               or vocab.FAMILIES_OF_HEADS.get(f[2:], f[2:]) not in page_families}
    if not telling:
        return False
    if key[0] > page_key[0] or key[2] and not page_key[2]:
        return True
    return not index.own_features(page_slug, slug, features)  # it matches all the page does
