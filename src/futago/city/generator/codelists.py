"""The codelists/ folder: gml:Dictionary files that the codeSpace attributes point at.

Readers (plateaukit included) turn codes into labels only through these files, so every code the
generator writes has an entry here.
"""

from __future__ import annotations

from futago.city.generator.plan import RANK_ORG, RANKS, RIVER_NAME

Entries = tuple[tuple[str, str], ...]

BUILDING_USAGE: Entries = (
    ("401", "業務施設"),
    ("402", "商業施設"),
    ("403", "宿泊施設"),
    ("404", "商業系複合施設"),
    ("411", "住宅"),
    ("412", "共同住宅"),
    ("413", "店舗等併用住宅"),
    ("414", "店舗等併用共同住宅"),
    ("415", "作業所併用住宅"),
    ("421", "官公庁施設"),
    ("422", "文教厚生施設"),
    ("431", "運輸倉庫施設"),
    ("441", "工場"),
    ("451", "農林漁業用施設"),
    ("452", "供給処理施設"),
    ("453", "防衛施設"),
    ("454", "その他"),
    ("461", "不明"),
)
BUILDING_CLASS: Entries = (
    ("3001", "普通建物"),
    ("3002", "堅ろう建物"),
    ("3003", "普通無壁舎"),
    ("3004", "堅ろう無壁舎"),
)
STRUCTURE: Entries = (
    ("601", "木造・土蔵造"),
    ("602", "鉄骨鉄筋コンクリート造"),
    ("603", "鉄筋コンクリート造"),
    ("604", "鉄骨造"),
    ("605", "軽量鉄骨造"),
    ("606", "レンガ造・コンクリートブロック造・石造"),
    ("610", "非木造"),
    ("611", "不明"),
)
LOCAL_AUTHORITIES: Entries = (("22", "静岡県"), ("22203", "静岡県沼津市"))
RANK: Entries = tuple((str(c), label) for c, label, _, _ in RANKS)
RANK_ORG_ENTRIES: Entries = tuple((str(c), label) for c, label, _ in RANK_ORG)
ADMIN_TYPE: Entries = (("1", "国"), ("2", "都道府県"), ("3", "市区町村"))
DESCRIPTION: Entries = (("1", RIVER_NAME),)
BUILDING_SCALE: Entries = (("1", "L1（計画規模）"), ("2", "L2（想定最大規模）"))
WATER_SCALE: Entries = (("L1", "L1（計画規模）"), ("L2", "L2（想定最大規模）"))
LOD1_HEIGHT_TYPE: Entries = (("1", "点群から取得_最高高さ"), ("2", "点群から取得_中央値"), ("3", "階数から算出"))


def _risk(prefix: str, scale: Entries) -> dict[str, Entries]:
    return {
        f"{prefix}_description": DESCRIPTION,
        f"{prefix}_rank": RANK,
        f"{prefix}_rankOrg": RANK_ORG_ENTRIES,
        f"{prefix}_adminType": ADMIN_TYPE,
        f"{prefix}_scale": scale,
    }


CODELISTS: dict[str, Entries] = {
    "Building_class": BUILDING_CLASS,
    "Building_usage": BUILDING_USAGE,
    "Building_buildingStructureType": STRUCTURE,
    "BuildingDetailAttribute_buildingStructureType": STRUCTURE,
    "BuildingDataQualityAttribute_lod1HeightType": LOD1_HEIGHT_TYPE,
    "Common_localPublicAuthorities": LOCAL_AUTHORITIES,
    "WaterBody_class": (("1140", "Flooded land"),),
    "WaterBody_function": (("1", "洪水浸水想定区域"),),
    "WaterBody_name": (("1", f"{RIVER_NAME}（計画規模）"), ("2", f"{RIVER_NAME}（想定最大規模）")),
    **_risk("BuildingRiverFloodingRiskAttribute", BUILDING_SCALE),
    **_risk("WaterBodyRiverFloodingRiskAttribute", WATER_SCALE),
    **_risk("RiverFloodingRiskAttribute", BUILDING_SCALE),
}


def dictionary(name: str, entries: Entries) -> str:
    """One codelist file, laid out like PLATEAU's."""
    defs = "".join(
        f'\t<gml:dictionaryEntry>\n\t\t<gml:Definition gml:id="id{i}">\n'
        f"\t\t\t<gml:description>{label}</gml:description>\n\t\t\t<gml:name>{code}</gml:name>\n"
        "\t\t</gml:Definition>\n\t</gml:dictionaryEntry>\n"
        for i, (code, label) in enumerate(entries, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gml:Dictionary xmlns:gml="http://www.opengis.net/gml" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.opengis.net/gml '
        'http://schemas.opengis.net/gml/3.1.1/profiles/SimpleDictionary/1.0.0/gmlSimpleDictionaryProfile.xsd" '
        f'gml:id="{name}">\n\t<gml:name>{name}</gml:name>\n{defs}</gml:Dictionary>\n'
    )
