"""HS2 chapter titles: Traditional Chinese (as in Taiwan's customs import tariff, 中華民國海關進口稅則) and English.

One maintained table shared by the Comtrade and Census layers. Chapters 01–97 follow the Harmonized System (77 is
reserved). 98 and 99 are national chapters: the titles below are the US meanings (Census Schedule B / HTS
"special classification / special import reporting provisions"), since Taiwan's own 98/99 mean something else.
Comtrade's "TOTAL" and Census country totals map to 總計.
"""

from __future__ import annotations

# code -> (zh-TW title, English title)
HS2_CHAPTERS: dict[str, tuple[str, str]] = {
    "01": ("活動物", "Live animals"),
    "02": ("肉及食用雜碎", "Meat and edible meat offal"),
    "03": (
        "魚類、甲殼類、軟體類及其他水產無脊椎動物",
        "Fish and crustaceans, molluscs and other aquatic invertebrates",
    ),
    "04": (
        "乳品；禽蛋；天然蜜；未列名食用動物產品",
        "Dairy produce; birds' eggs; natural honey; edible products of animal origin n.e.s.",
    ),
    "05": ("未列名動物產品", "Products of animal origin, n.e.s."),
    "06": (
        "活樹及其他植物；球莖、根及類似品；切花及裝飾用葉",
        "Live trees and other plants; bulbs, roots; cut flowers and ornamental foliage",
    ),
    "07": ("食用蔬菜及若干根菜與塊莖", "Edible vegetables and certain roots and tubers"),
    "08": ("食用果實及堅果；柑橘屬果實或甜瓜之外皮", "Edible fruit and nuts; peel of citrus fruit or melons"),
    "09": ("咖啡、茶、馬黛茶及香料", "Coffee, tea, maté and spices"),
    "10": ("穀類", "Cereals"),
    "11": (
        "製粉工業產品；麥芽；澱粉；菊糖；麵筋",
        "Products of the milling industry; malt; starches; inulin; wheat gluten",
    ),
    "12": (
        "油料種子及含油質果實；雜項穀粒、種子及果實；工業用或藥用植物；芻草及飼料",
        "Oil seeds and oleaginous fruits; miscellaneous grains, seeds and fruit; industrial or medicinal plants; straw and fodder",
    ),
    "13": ("蟲漆；植物膠、樹脂及其他植物汁液及萃取物", "Lac; gums, resins and other vegetable saps and extracts"),
    "14": ("編結用植物性材料；未列名植物產品", "Vegetable plaiting materials; vegetable products n.e.s."),
    "15": (
        "動物、植物或微生物油脂及其分解物；調製食用油脂；動物或植物蠟",
        "Animal, vegetable or microbial fats and oils; prepared edible fats; animal or vegetable waxes",
    ),
    "16": (
        "肉、魚、甲殼、軟體或其他水產無脊椎動物或昆蟲之調製品",
        "Preparations of meat, fish, crustaceans, molluscs or other aquatic invertebrates, or insects",
    ),
    "17": ("糖及糖果", "Sugars and sugar confectionery"),
    "18": ("可可及可可製品", "Cocoa and cocoa preparations"),
    "19": (
        "穀類、粉、澱粉或奶之調製食品；糕餅類食品",
        "Preparations of cereals, flour, starch or milk; pastrycooks' products",
    ),
    "20": (
        "蔬菜、果實、堅果或植物其他部分之調製品",
        "Preparations of vegetables, fruit, nuts or other parts of plants",
    ),
    "21": ("雜項調製食品", "Miscellaneous edible preparations"),
    "22": ("飲料、酒類及醋", "Beverages, spirits and vinegar"),
    "23": (
        "食品工業產製所剩殘渣及廢料；調製動物飼料",
        "Residues and waste from the food industries; prepared animal fodder",
    ),
    "24": (
        "菸（煙）草及菸（煙）草代用品之產製品；非經燃燒吸用之產品；其他含尼古丁產品",
        "Tobacco and manufactured tobacco substitutes; products for inhalation without combustion; nicotine products",
    ),
    "25": (
        "鹽；硫磺；土及石料；石膏料、石灰及水泥",
        "Salt; sulphur; earths and stone; plastering materials, lime and cement",
    ),
    "26": ("礦石、熔渣及礦灰", "Ores, slag and ash"),
    "27": (
        "礦物燃料、礦油及其蒸餾產品；含瀝青物質；礦蠟",
        "Mineral fuels, mineral oils and products of their distillation; bituminous substances; mineral waxes",
    ),
    "28": (
        "無機化學品；貴金屬、稀土金屬、放射性元素及其同位素之有機及無機化合物",
        "Inorganic chemicals; compounds of precious metals, rare-earth metals, radioactive elements or isotopes",
    ),
    "29": ("有機化學產品", "Organic chemicals"),
    "30": ("醫藥品", "Pharmaceutical products"),
    "31": ("肥料", "Fertilisers"),
    "32": (
        "鞣革或染色用萃取物；鞣酸及其衍生物；染料、顏料及其他著色料；漆類及凡立水；油灰及其他灰泥；墨類",
        "Tanning or dyeing extracts; dyes, pigments and other colouring matter; paints and varnishes; putty; inks",
    ),
    "33": (
        "精油及樹脂狀物質；香水、化妝品或盥洗用品",
        "Essential oils and resinoids; perfumery, cosmetic or toilet preparations",
    ),
    "34": (
        "肥皂、有機界面活性劑、洗滌劑、潤滑劑、人造蠟、調製蠟、擦光或除垢劑、蠟燭及類似品、塑型用軟膏、牙科用蠟及以石膏為基料之牙科用劑",
        "Soap, organic surface-active agents, washing and lubricating preparations, waxes, candles, modelling pastes, dental waxes",
    ),
    "35": ("蛋白狀物質；改質澱粉；膠；酵素", "Albuminoidal substances; modified starches; glues; enzymes"),
    "36": (
        "炸藥；煙火品；火柴；引火合金；可燃製品",
        "Explosives; pyrotechnic products; matches; pyrophoric alloys; combustible preparations",
    ),
    "37": ("感光或電影用品", "Photographic or cinematographic goods"),
    "38": ("雜項化學產品", "Miscellaneous chemical products"),
    "39": ("塑膠及其製品", "Plastics and articles thereof"),
    "40": ("橡膠及其製品", "Rubber and articles thereof"),
    "41": ("生皮（毛皮除外）及皮革", "Raw hides and skins (other than furskins) and leather"),
    "42": (
        "皮革製品；鞍具及輓具；旅行用物品、手提袋及類似容器；動物腸線製品（蠶膠絲除外）",
        "Articles of leather; saddlery and harness; travel goods, handbags and similar containers; articles of gut",
    ),
    "43": ("毛皮與人造毛皮及其製品", "Furskins and artificial fur; manufactures thereof"),
    "44": ("木及木製品；木炭", "Wood and articles of wood; wood charcoal"),
    "45": ("軟木及軟木製品", "Cork and articles of cork"),
    "46": (
        "草及其他編結材料之編結品；編籃及柳條編結品",
        "Manufactures of straw or other plaiting materials; basketware and wickerwork",
    ),
    "47": (
        "木漿或其他纖維素材料之紙漿；回收（廢料及碎屑）紙或紙板",
        "Pulp of wood or other fibrous cellulosic material; recovered (waste and scrap) paper or paperboard",
    ),
    "48": ("紙及紙板；紙漿、紙或紙板之製品", "Paper and paperboard; articles of paper pulp, of paper or of paperboard"),
    "49": (
        "書籍、新聞報紙、圖書及其他印刷工業產品；手寫稿、打字稿及設計圖樣",
        "Printed books, newspapers, pictures and other products of the printing industry; manuscripts and plans",
    ),
    "50": ("絲", "Silk"),
    "51": ("羊毛、動物粗細毛；馬毛紗及其梭織物", "Wool, fine or coarse animal hair; horsehair yarn and woven fabric"),
    "52": ("棉花", "Cotton"),
    "53": (
        "其他植物紡織纖維；紙紗及紙紗梭織物",
        "Other vegetable textile fibres; paper yarn and woven fabrics of paper yarn",
    ),
    "54": (
        "人造纖維絲；人造紡織材料之扁條及類似品",
        "Man-made filaments; strip and the like of man-made textile materials",
    ),
    "55": ("人造纖維棉", "Man-made staple fibres"),
    "56": (
        "填充用材料、氈、不織布；特殊紗；撚線、繩、索、纜及其製品",
        "Wadding, felt and nonwovens; special yarns; twine, cordage, ropes and cables and articles thereof",
    ),
    "57": ("地毯及其他紡織材料覆地物", "Carpets and other textile floor coverings"),
    "58": (
        "特殊梭織物；簇絨織物；花邊織物；掛毯；裝飾織物；刺繡織物",
        "Special woven fabrics; tufted textile fabrics; lace; tapestries; trimmings; embroidery",
    ),
    "59": (
        "浸漬、塗布、被覆或黏合之紡織物；工業用紡織物",
        "Impregnated, coated, covered or laminated textile fabrics; textile articles for industrial use",
    ),
    "60": ("針織品或鉤針織品", "Knitted or crocheted fabrics"),
    "61": ("針織或鉤針織之衣著及服飾附屬品", "Articles of apparel and clothing accessories, knitted or crocheted"),
    "62": (
        "非針織或非鉤針織之衣著及服飾附屬品",
        "Articles of apparel and clothing accessories, not knitted or crocheted",
    ),
    "63": (
        "其他製成紡織品；組合品；舊衣著及舊紡織品；破布",
        "Other made up textile articles; sets; worn clothing and worn textile articles; rags",
    ),
    "64": ("鞋靴、綁腿及類似品；此類物品之零件", "Footwear, gaiters and the like; parts of such articles"),
    "65": ("帽類及其零件", "Headgear and parts thereof"),
    "66": (
        "雨傘、陽傘、手杖、座凳式手杖、鞭、馬鞭及其零件",
        "Umbrellas, sun umbrellas, walking-sticks, seat-sticks, whips, riding-crops and parts thereof",
    ),
    "67": (
        "已整理之羽毛、羽絨及其製品；人造花；人髮製品",
        "Prepared feathers and down and articles thereof; artificial flowers; articles of human hair",
    ),
    "68": (
        "石料、膠泥、水泥、石棉、雲母或類似材料之製品",
        "Articles of stone, plaster, cement, asbestos, mica or similar materials",
    ),
    "69": ("陶瓷產品", "Ceramic products"),
    "70": ("玻璃及玻璃器", "Glass and glassware"),
    "71": (
        "天然珍珠或養珠、寶石或次寶石、貴金屬、被覆貴金屬之金屬及其製品；仿首飾；鑄幣",
        "Natural or cultured pearls, precious or semi-precious stones, precious metals and articles thereof; imitation jewellery; coin",
    ),
    "72": ("鋼鐵", "Iron and steel"),
    "73": ("鋼鐵製品", "Articles of iron or steel"),
    "74": ("銅及其製品", "Copper and articles thereof"),
    "75": ("鎳及其製品", "Nickel and articles thereof"),
    "76": ("鋁及其製品", "Aluminium and articles thereof"),
    "77": ("（保留為調和制度將來所用）", "(Reserved for possible future use in the Harmonized System)"),
    "78": ("鉛及其製品", "Lead and articles thereof"),
    "79": ("鋅及其製品", "Zinc and articles thereof"),
    "80": ("錫及其製品", "Tin and articles thereof"),
    "81": ("其他卑金屬；瓷金；及其製品", "Other base metals; cermets; articles thereof"),
    "82": (
        "卑金屬製工具、器具、利器、匙、叉及其零件",
        "Tools, implements, cutlery, spoons and forks, of base metal; parts thereof",
    ),
    "83": ("雜項卑金屬製品", "Miscellaneous articles of base metal"),
    "84": (
        "核子反應器、鍋爐、機器及機械用具；及其零件",
        "Nuclear reactors, boilers, machinery and mechanical appliances; parts thereof",
    ),
    "85": (
        "電機與設備及其零件；錄音機及聲音重放機，電視影像、聲音記錄機及重放機，以及上述各物之零件及附件",
        "Electrical machinery and equipment and parts thereof; sound and television recorders and reproducers, and parts",
    ),
    "86": (
        "鐵道或電車道機車、車輛及其零件；鐵道或電車道軌道固定設備及配件及其零件；各種機械式（包括電動機械式）交通信號設備",
        "Railway or tramway locomotives, rolling stock, track fixtures and parts; mechanical traffic signalling equipment",
    ),
    "87": (
        "鐵道及電車道車輛以外之車輛及其零件與附件",
        "Vehicles other than railway or tramway rolling stock, and parts and accessories thereof",
    ),
    "88": ("航空器、太空船及其零件", "Aircraft, spacecraft, and parts thereof"),
    "89": ("船舶及浮動構造體", "Ships, boats and floating structures"),
    "90": (
        "光學、照相、電影、計量、檢查、精密、內科或外科儀器及器具；上述物品之零件及附件",
        "Optical, photographic, cinematographic, measuring, checking, precision, medical or surgical instruments; parts",
    ),
    "91": ("鐘、錶及其零件", "Clocks and watches and parts thereof"),
    "92": ("樂器；與其零件及附件", "Musical instruments; parts and accessories of such articles"),
    "93": ("武器與彈藥；及其零件與附件", "Arms and ammunition; parts and accessories thereof"),
    "94": (
        "家具；寢具、褥、褥墊、軟墊及類似充填家具；未列名之燈具及照明配件；照明標誌、照明名牌及類似品；組合式建築物",
        "Furniture; bedding, mattresses, cushions; luminaires and lighting fittings n.e.s.; illuminated signs; prefabricated buildings",
    ),
    "95": (
        "玩具、遊戲品與運動用品；及其零件與附件",
        "Toys, games and sports requisites; parts and accessories thereof",
    ),
    "96": ("雜項製品", "Miscellaneous manufactured articles"),
    "97": ("藝術品、珍藏品及古董", "Works of art, collectors' pieces and antiques"),
    # National chapters, US meaning (Schedule B exports / HTS imports).
    "98": ("特殊分類規定（美國國家章）", "Special classification provisions (US national chapter)"),
    "99": ("特殊進口申報規定（美國國家章）", "Special import reporting provisions (US national chapter)"),
}

#: The one short name per chapter used in running text (the full titles stay in tables and Extractor files).
#: Chapters not listed print their title up to its first '；'.
HS2_SHORT_ZH: dict[str, str] = {
    "02": "肉類",
    "03": "水產品",
    "04": "乳品及禽蛋",
    "08": "果實及堅果",
    "10": "穀類",
    "12": "油料種子",
    "15": "油脂",
    "22": "飲料及酒類",
    "23": "飼料",
    "26": "礦砂",
    "27": "礦物燃料",
    "28": "無機化學品",
    "29": "有機化學品",
    "30": "醫藥品",
    "32": "染料及塗料",
    "33": "香精及化妝品",
    "34": "清潔劑及蠟",
    "38": "雜項化學產品",
    "39": "塑膠及其製品",
    "40": "橡膠及其製品",
    "44": "木及木製品",
    "47": "紙漿",
    "48": "紙及紙板",
    "52": "棉花",
    "61": "針織成衣",
    "62": "梭織成衣",
    "64": "鞋類",
    "71": "珠寶及貴金屬",
    "72": "鋼鐵",
    "73": "鋼鐵製品",
    "74": "銅及其製品",
    "76": "鋁及其製品",
    "81": "其他卑金屬",
    "82": "工具",
    "84": "機械",
    "85": "電機設備",
    "86": "鐵道車輛",
    "87": "車輛及零件",
    "88": "航空器",
    "89": "船舶",
    "90": "光學及精密儀器",
    "93": "武器及彈藥",
    "94": "家具及燈具",
    "95": "玩具及運動用品",
    "96": "雜項製品",
    "97": "藝術品及古董",
    "98": "特殊分類",
    "99": "特殊進口申報",
}

#: The same short names in English (the English edition's running text); chapters not listed print their English
#: title up to its first ';'.
HS2_SHORT_EN: dict[str, str] = {
    "02": "meat",
    "03": "fish and seafood",
    "04": "dairy and eggs",
    "08": "fruit and nuts",
    "10": "cereals",
    "12": "oil seeds",
    "15": "fats and oils",
    "22": "beverages",
    "23": "animal feed",
    "26": "ores",
    "27": "mineral fuels",
    "28": "inorganic chemicals",
    "29": "organic chemicals",
    "30": "pharmaceuticals",
    "32": "dyes and paints",
    "33": "cosmetics and perfumery",
    "34": "soaps and waxes",
    "38": "miscellaneous chemical products",
    "39": "plastics",
    "40": "rubber",
    "44": "wood",
    "47": "wood pulp",
    "48": "paper and paperboard",
    "52": "cotton",
    "61": "knitted apparel",
    "62": "woven apparel",
    "64": "footwear",
    "71": "precious stones and metals",
    "72": "iron and steel",
    "73": "iron and steel articles",
    "74": "copper",
    "76": "aluminium",
    "81": "other base metals",
    "82": "tools",
    "84": "machinery",
    "85": "electrical equipment",
    "86": "railway vehicles",
    "87": "vehicles and parts",
    "88": "aircraft",
    "89": "ships",
    "90": "optical and precision instruments",
    "93": "arms and ammunition",
    "94": "furniture and lighting",
    "95": "toys and sports goods",
    "96": "miscellaneous manufactures",
    "97": "works of art and antiques",
    "98": "special classification",
    "99": "special import provisions",
}

TOTAL_CODES = frozenset({"TOTAL", "-", ""})
TOTAL_NAME_ZH = "總計"
TOTAL_NAME_EN = "Total, all commodities"


def normalize_hs2(code: str | int) -> str:
    """'8' / 8 / '08' -> '08'; 'TOTAL' / '-' -> 'TOTAL'. Raises ValueError for anything that is not an HS2 code."""
    text = str(code).strip().upper()
    if text in TOTAL_CODES:
        return "TOTAL"
    if not text.isdigit() or not 1 <= len(text) <= 2 or int(text) == 0:
        raise ValueError(f"not an HS2 chapter code: {code!r}")
    return f"{int(text):02d}"


def hs2_name_zh(code: str | int, english_fallback: str | None = None) -> str:
    """Traditional-Chinese title of an HS2 chapter; for an unknown code the English title (or the given fallback)."""
    try:
        key = normalize_hs2(code)
    except ValueError:
        return english_fallback or str(code)
    if key == "TOTAL":
        return TOTAL_NAME_ZH
    if key in HS2_CHAPTERS:
        return HS2_CHAPTERS[key][0]
    return english_fallback or f"HS {key}"


def hs2_short_zh(code: str | int) -> str:
    """The chapter's short name for running text ('84' → '機械'); the title up to its first '；' otherwise."""
    try:
        key = normalize_hs2(code)
    except ValueError:
        return str(code)
    if key == "TOTAL":
        return TOTAL_NAME_ZH
    return HS2_SHORT_ZH.get(key) or hs2_name_zh(key).split("；")[0]


def hs2_name_en(code: str | int) -> str:
    """English title of an HS2 chapter ('HS 00' style label for an unknown code)."""
    key = normalize_hs2(code)
    if key == "TOTAL":
        return TOTAL_NAME_EN
    return HS2_CHAPTERS.get(key, ("", f"HS {key}"))[1]


def hs2_short_en(code: str | int) -> str:
    """The one short English name of a chapter used in running text (the English edition)."""
    key = normalize_hs2(code)
    if key == "TOTAL":
        return TOTAL_NAME_EN
    return HS2_SHORT_EN.get(key) or hs2_name_en(key).split(";")[0]
