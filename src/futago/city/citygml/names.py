"""Namespace handling: CityGML 1.0/2.0, GML 3.1/3.2 and every i-UR (uro, urf) version by local name.

i-UR changed its namespaces with every release (kantei.go.jp 1.4/1.5, geospatial.jp 2.0, 3.0, 3.1...)
and renamed some wrappers. Matching the namespace by prefix and comparing local names lets one
code path read them all, without a table per version. CityGML modules get the short names PLATEAU
uses for its folders and prefixes (bldg, tran, brid, tun, frn, veg, luse, grp, gen...).
"""

from __future__ import annotations

from typing import Final

CITYGML_PREFIX: Final = "http://www.opengis.net/citygml/"
GML_NAMESPACES: Final = ("http://www.opengis.net/gml", "http://www.opengis.net/gml/3.2")
URO_PREFIXES: Final = (
    "https://www.geospatial.jp/iur/uro/",
    "http://www.kantei.go.jp/jp/singi/tiiki/toshisaisei/itoshisaisei/iur/uro",
)
URF_PREFIXES: Final = (
    "https://www.geospatial.jp/iur/urf/",
    "http://www.kantei.go.jp/jp/singi/tiiki/toshisaisei/itoshisaisei/iur/urf",
)
XLINK: Final = "http://www.w3.org/1999/xlink"
CORE_NAMESPACES: Final = ("http://www.opengis.net/citygml/2.0", "http://www.opengis.net/citygml/1.0")
APP_NAMESPACES: Final = (
    "http://www.opengis.net/citygml/appearance/2.0",
    "http://www.opengis.net/citygml/appearance/1.0",
)

# Groups a tag can belong to. Module names (bldg, wtr, ...) come from the CityGML namespace path.
GML: Final = "gml"
URO: Final = "uro"
URF: Final = "urf"
OTHER: Final = "other"
_MODULES: Final = {
    "building": "bldg",
    "waterbody": "wtr",
    "relief": "dem",
    "transportation": "tran",
    "generics": "gen",
    "appearance": "app",
    "bridge": "brid",
    "tunnel": "tun",
    "cityfurniture": "frn",
    "vegetation": "veg",
    "landuse": "luse",
    "cityobjectgroup": "grp",
    "texturedsurface": "tex",
}

_cache: dict[str, tuple[str, str]] = {}


def classify(tag: object) -> tuple[str, str]:
    """(group, local name) of a Clark-notation tag; memoised, because the same few hundred tags repeat."""
    hit = _cache.get(tag) if isinstance(tag, str) else None
    if hit is not None:
        return hit
    if not isinstance(tag, str):  # comments and processing instructions
        return (OTHER, "")
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
    else:
        ns, local = "", tag
    if ns in GML_NAMESPACES:
        group = GML
    elif ns.startswith(URO_PREFIXES):
        group = URO
    elif ns.startswith(URF_PREFIXES):
        group = URF
    elif ns.startswith(CITYGML_PREFIX):
        rest = ns[len(CITYGML_PREFIX) :].split("/", 1)[0]
        group = _MODULES.get(rest, "core" if rest[:1].isdigit() else rest)
    else:
        group = OTHER
    _cache[tag] = result = (group, local)
    return result


def gml_tags(*locals_: str) -> list[str]:
    """Clark tags of GML elements in both GML namespaces, for lxml's ``iter(*tags)``."""
    return [f"{{{ns}}}{name}" for ns in GML_NAMESPACES for name in locals_]


GML_ID: Final = [f"{{{ns}}}id" for ns in GML_NAMESPACES]


def gml_id(elem: object) -> str:
    get = elem.get  # type: ignore[attr-defined]
    return str(get(GML_ID[0]) or get(GML_ID[1]) or get("id") or "")
