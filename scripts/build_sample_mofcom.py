"""Build the embedded offline MOFCOM sample: data/sample/captures/mofcom/*.json (deterministic; run it again to check).

    .venv/bin/python scripts/build_sample_mofcom.py

Writes getColumnList replies (columns 1, 2, 9; column 9 on two pages with maxPageNum 3, so the crawler must stop on
the page that reaches rows older than the lookback start) and article pages in the structure of sources.md §3.5, in
the capture format of trade_pipeline/core/http.py. What is fact and what is filler is listed in the README next to
the captures: URLs, titles, dates and document numbers come from the weiqi-kids index (../shared/realdata/raw/mofcom)
or the published announcements; body paragraphs reproduce the published wording where known ("quoted") and are
otherwise short reconstructions of the published provisions ("reconstructed").
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trade_pipeline.core.http import CAPTURE_FORMAT, _file_name, request_key  # noqa: E402

OUT = ROOT / "data" / "sample" / "captures" / "mofcom"
BASE = "http://exportcontrol.mofcom.gov.cn"
LIST_URL = BASE + "/edi_ecms_web_front/front/column/getColumnList"
RECORDED_AT = "2026-02-25T02:00:00+00:00"
PAGE_SIZE = 20

ZCFG = "/article/zcfg/gnzcfg/zcfggzqd"
COLUMN_NAMES = {1: "国内动态", 2: "国际动态", 9: "管制清单"}


@dataclass
class Article:
    no: int
    path: str  # site path without the trailing /<no>.html
    date: str  # list publishTimeStr date (index date)
    title: str  # list title (index title)
    source: str
    columns: tuple[int, ...]
    paragraphs: list[str] = field(default_factory=list)
    attachments: list[tuple[str, str]] = field(default_factory=list)
    page_date: str = ""  # var publishTime when it differs from the list date
    page: str = "ok"  # ok | 404 | garbled | no_bd
    basis: str = "reconstructed"

    @property
    def url(self) -> str:
        return f"{self.path}/{self.no}.html"


A = Article
ARTICLES: list[Article] = [
    A(
        912,
        f"{ZCFG}/202310",
        "2023-10-20",
        "商务部　海关总署关于优化调整石墨物项临时出口管制措施的公告",
        "商务部 海关总署",
        (9,),
        [
            "商务部 海关总署公告2023年第39号",
            "根据《中华人民共和国出口管制法》《中华人民共和国对外贸易法》《中华人民共和国海关法》有关规定，为维护国家安全和利益，经国务院批准，现将优化调整石墨物项临时出口管制措施有关事项公告如下：",
            "一、满足以下特性的物项，未经许可，不得出口：（一）高纯度（纯度>99.9%）、高强度（抗折强度>30Mpa）、高密度（密度>1.73g/cm³）的人造石墨材料及其制品；（二）天然鳞片石墨及其制品（包括球化石墨、膨胀石墨等）。",
            "二、出口经营者应当按照相关规定办理出口许可手续，通过省级商务主管部门向商务部提出申请，填写两用物项和技术出口申请表，并提交出口合同或者协议的原件或者与原件一致的复印件、扫描件，拟出口物项的技术说明或者检测报告，最终用户和最终用途证明，进口商和最终用户情况介绍，申请人的法定代表人、主要经营管理人以及经办人的身份证明。",
            "三、商务部应当自收到出口申请文件之日起进行审查，并在法定期限内作出准予或者不予许可的决定。对国家安全有重大影响的本公告所列物项出口，由商务部会同有关部门报国务院批准。",
            "四、出口经营者未经许可擅自出口、超出许可范围出口或者有其他违法情形的，由商务部或者海关等部门依照有关法律法规的规定给予行政处罚；构成犯罪的，依法追究刑事责任。",
            "五、本公告自2023年12月1日起正式实施。《商务部 海关总署公告2006年第50号》中其他石墨物项临时管制措施同时废止。",
            "商务部 海关总署",
            "2023年10月20日",
        ],
        basis="quoted (provisions 一 and 五, number and dates); other provisions reconstructed",
    ),
    A(
        941,
        f"{ZCFG}/202312",
        "2023-12-29",
        "商务部 海关总署公告2023年第66号 关于发布2024年度《两用物项和技术进出口许可证管理目录》的公告",
        "商务部 海关总署",
        (9,),
        [
            "商务部 海关总署公告2023年第66号",
            "根据《中华人民共和国出口管制法》和有关行政法规，现发布2024年度《两用物项和技术进出口许可证管理目录》（见附件）。",
            "本公告自2024年1月1日起执行。《商务部 海关总署公告2022年第42号》同时废止。",
            "商务部 海关总署",
            "2023年12月29日",
        ],
        [("两用物项和技术进出口许可证管理目录", "/upload/uploadfile/attach/202312/29/20231229174315001.pdf")],
    ),
    A(
        1010,
        f"{ZCFG}/202406",
        "2024-06-03",
        "商务部 海关总署 中央军委装备发展部公告2024年第21号 关于对有关物项实施出口管制的公告",
        "商务部 海关总署 中央军委装备发展部",
        (9,),
        [
            "商务部 海关总署 中央军委装备发展部公告2024年第21号",
            "根据《中华人民共和国出口管制法》《中华人民共和国对外贸易法》《中华人民共和国海关法》有关规定，为维护国家安全和利益，经国务院、中央军委批准，决定对以下航空航天相关物项实施出口管制。",
            "一、满足以下特性的物项，未经许可，不得出口：（一）航空航天用相关设备、部件及技术；（二）燃气涡轮发动机相关部件、材料及技术；（三）航天服相关材料及技术。",
            "二、出口经营者出口上述物项，应当依照有关规定办理出口许可手续。",
            "三、本公告自2024年7月1日起正式实施。",
            "商务部 海关总署 中央军委装备发展部",
            "2024年5月30日",
        ],
    ),
    A(
        1024,
        f"{ZCFG}/202408",
        "2024-08-26",
        "商务部 海关总署公告2024年第33号 关于对锑等物项实施出口管制的公告",
        "商务部 海关总署",
        (9,),
        [
            "商务部 海关总署公告2024年第33号",
            "根据《中华人民共和国出口管制法》《中华人民共和国对外贸易法》《中华人民共和国海关法》有关规定，为维护国家安全和利益、履行防扩散等国际义务，经国务院批准，决定对以下物项实施出口管制。有关事项公告如下：",
            "一、满足以下特性的物项，未经许可，不得出口：（一）锑相关物项：锑矿及原料（块、颗粒、粉末、晶体及其他形态）；金属锑及制品（锭、块、珠、颗粒、粉末及其他形态）；纯度≥99.99%的氧化锑；纯度>99.999%的三甲基锑、三乙基锑等有机锑化合物；纯度>99.999%的锑化氢；锑化铟；金锑冶炼分离技术。",
            "（二）超硬材料相关物项：六面顶压机（液压≥10MN）及其专用关键部件；微波等离子体化学气相沉积（MPCVD）设备（功率10kW以上）；金刚石窗口材料；用于制造人造金刚石单晶或立方氮化硼单晶的工艺技术。",
            "二、出口经营者应当按照相关规定办理出口许可手续。",
            "三、本公告自2024年9月15日起正式实施。",
            "商务部 海关总署",
            "2024年8月15日",
        ],
        basis="provisions reconstructed from the published item list; number and dates quoted",
    ),
    A(
        1057,
        "/article/zcfg/gnzcfg/gzjgfxwj/202410",
        "2024-10-23",
        "中华人民共和国两用物项出口管制条例",
        "国务院",
        (9,),
        [
            "中华人民共和国国务院令第792号",
            "《中华人民共和国两用物项出口管制条例》已经2024年9月18日国务院第41次常务会议通过，现予公布，自2024年12月1日起施行。",
            "第一条 为了维护国家安全和利益，履行防扩散等国际义务，加强和规范两用物项出口管制，根据《中华人民共和国出口管制法》等法律，制定本条例。",
            "第五十条 本条例自2024年12月1日起施行。《中华人民共和国核两用品及相关技术出口管制条例》《中华人民共和国导弹及相关物项和技术出口管制条例》《中华人民共和国生物两用品及相关设备和技术出口管制条例》《中华人民共和国监控化学品管理条例》有关出口管制的规定、《有关化学品及相关设备和技术出口管制办法》同时废止。",
            "总理 李强",
            "2024年9月30日",
        ],
        basis="order number, dates and articles 1/50 quoted in substance",
    ),
    A(
        1067,
        f"{ZCFG}/202411",
        "2024-11-21",
        "商务部 工业和信息化部 海关总署 国家密码局公告2024年第51号 关于发布《中华人民共和国两用物项出口管制清单》的公告",
        "商务部",
        (9,),
        [
            "商务部 工业和信息化部 海关总署 国家密码局公告2024年第51号",
            "为贯彻落实《中华人民共和国两用物项出口管制条例》，商务部会同有关部门制定了《中华人民共和国两用物项出口管制清单》（见附件），现予以公布。",
            "本公告自2024年12月1日起正式实施。",
            "商务部 工业和信息化部 海关总署 国家密码局",
            "2024年11月15日",
        ],
        [("中华人民共和国两用物项出口管制清单", "/upload/uploadfile/attach/202411/21/20241121101010001.pdf")],
    ),
    A(
        1072,
        f"{ZCFG}/202412",
        "2024-12-17",
        "商务部公告2024年第46号 关于加强相关两用物项对美国出口管制的公告",
        "商务部",
        (9,),
        [
            "商务部公告2024年第46号",
            "根据《中华人民共和国出口管制法》等法律法规有关规定，为维护国家安全和利益、履行防扩散等国际义务，决定加强相关两用物项对美国出口管制。现将有关事项公告如下：",
            "一、禁止两用物项对美国军事用户或军事用途出口。",
            "二、原则上不予许可镓、锗、锑、超硬材料相关两用物项对美国出口；对石墨两用物项对美国出口，实施更严格的最终用户和最终用途审查。",
            "任何国家和地区的组织和个人，违反上述规定，将原产于中华人民共和国的相关两用物项转移或提供给美国的组织和个人，将依法追究法律责任。",
            "本公告自公布之日起实施。",
            "商务部",
            "2024年12月3日",
        ],
        page_date="2024-12-03",
        basis="quoted in substance (prohibitions, items, effect on publication); list date is the index's, page date the real one",
    ),
    A(
        1098,
        f"{ZCFG}/202502",
        "2025-02-04",
        "商务部 海关总署公告2025年第10号 公布对钨、碲、铋、钼、铟相关物项 实施出口管制的决定",
        "商务部 海关总署",
        (9,),
        [
            "商务部 海关总署公告2025年第10号",
            "根据《中华人民共和国出口管制法》《中华人民共和国对外贸易法》《中华人民共和国海关法》《中华人民共和国两用物项出口管制条例》有关规定，为维护国家安全和利益、履行防扩散等国际义务，经国务院批准，决定对钨、碲、铋、钼、铟相关物项实施出口管制。有关事项公告如下：",
            "一、满足以下特性的物项，未经许可，不得出口：（一）钨相关物项：仲钨酸铵、氧化钨、部分碳化钨、特定钨合金及其生产技术；（二）碲相关物项：金属碲、碲化镉、碲锌镉等及其生产技术；（三）铋相关物项：特定金属铋及制品、锗酸铋、三苯基铋等及其生产技术；（四）钼相关物项：特定钼粉及其生产技术；（五）铟相关物项：磷化铟、三甲基铟、三乙基铟等及其生产技术。",
            "二、出口经营者应当按照相关规定办理出口许可手续。",
            "三、本公告自公布之日起正式实施。",
            "商务部 海关总署",
            "2025年2月4日",
        ],
    ),
    A(
        1157,
        f"{ZCFG}/202508",
        "2025-08-14",
        "中华人民共和国商务部令二〇二五年第5号 关于对欧盟两家金融机构采取反制措施的决定",
        "商务部",
        (9,),
        [
            "中华人民共和国商务部令二〇二五年第5号",
            "根据《中华人民共和国反外国制裁法》《实施〈中华人民共和国反外国制裁法〉的规定》，商务部决定对欧盟两家金融机构采取反制措施：禁止境内组织、个人与其进行交易、合作等活动。",
            "本决定自2025年8月13日起施行。",
            "部长 王文涛",
            "2025年8月13日",
        ],
    ),
    A(
        1164,
        f"{ZCFG}/202509",
        "2025-09-26",
        "商务部公告2025年第51号 公布将3家美国实体列入出口管制管控名单决定",
        "商务部",
        (9,),
        [
            "商务部公告2025年第51号",
            "根据《中华人民共和国出口管制法》《中华人民共和国两用物项出口管制条例》等法律法规有关规定，为维护国家安全和利益、履行防扩散等国际义务，决定将3家美国实体列入出口管制管控名单（见附件），并采取以下措施：",
            "一、禁止两用物项出口经营者向上述实体出口两用物项；正在开展的相关出口活动应当立即停止。",
            "二、本公告自公布之日起实施。",
            "商务部",
            "2025年9月25日",
        ],
        [("附件 出口管制管控名单", "/upload/uploadfile/attach/202509/26/20250926090001001.pdf")],
        basis="reconstructed measures; entity names are in the attachment (not reproduced)",
    ),
    A(
        1165,
        f"{ZCFG}/202509",
        "2025-09-26",
        "不可靠实体清单工作机制关于将萨罗尼克科技公司等3家美国企业列入不可靠实体清单的公告",
        "不可靠实体清单工作机制",
        (9,),
        [
            "根据《中华人民共和国对外贸易法》《中华人民共和国国家安全法》《中华人民共和国反外国制裁法》等有关法律和《不可靠实体清单规定》第二条、第八条和第十条，工作机制决定将萨罗尼克科技公司等3家美国企业列入不可靠实体清单，并采取以下措施：",
            "一、禁止上述企业从事与中国有关的进出口活动；",
            "二、禁止上述企业在中国境内新增投资。",
            "本公告自公布之日起实施。",
            "不可靠实体清单工作机制",
            "2025年9月25日",
        ],
    ),
    A(
        1170,
        f"{ZCFG}/202510",
        "2025-10-09",
        "商务部公告2025第62号 公布对稀土相关技术实施出口管制的决定",
        "商务部",
        (9, 1),
        [
            "商务部公告2025年第62号",
            "根据《中华人民共和国出口管制法》《中华人民共和国两用物项出口管制条例》有关规定，为维护国家安全和利益，经国务院批准，决定对稀土相关技术实施出口管制。有关事项公告如下：",
            "一、稀土开采、冶炼分离、金属冶炼、磁材制造、稀土二次资源回收利用相关技术及其载体（管控编码1E902.a），以及稀土相关生产线的装配、调试、维护、维修、升级等技术（管控编码1E902.b），未经许可，不得出口。",
            "二、本公告所称“磁材制造”是指钐钴、钕铁硼、铈磁体的制造技术。",
            "三、未经许可，中华人民共和国公民、法人和非法人组织不得参与或支持境外稀土开采、冶炼分离、金属冶炼、磁材制造、稀土二次资源回收利用等活动。",
            "四、本公告自公布之日起正式实施，《中华人民共和国两用物项出口管制清单》同步更新。",
            "商务部",
            "2025年10月9日",
        ],
        basis="control codes, scope and effect on publication per the published text; wording condensed",
    ),
    A(
        1171,
        f"{ZCFG}/202510",
        "2025-10-09",
        "商务部公告2025第61号 公布对境外相关稀土物项实施出口管制的决定",
        "商务部",
        (9, 1),
        [
            "商务部公告2025年第61号",
            "根据《中华人民共和国出口管制法》《中华人民共和国两用物项出口管制条例》有关规定，为维护国家安全和利益，经国务院批准，决定对境外相关稀土物项实施出口管制。有关事项公告如下：",
            "一、境外组织和个人将下列物项从境外出口至其他国家和地区，应当取得中华人民共和国商务部颁发的两用物项出口许可证：（一）境外制造的、含有、集成或混有原产于中国的附件1第一部分所列稀土物项且价值比例达到0.1%及以上的附件1第二部分所列物项；（二）境外使用原产于中国的稀土开采、冶炼分离、金属冶炼、磁材制造、稀土二次资源回收利用技术生产的稀土物项；（三）原产于中国的附件1所列稀土物项。",
            "二、对出口至境外军事用户、列入管控名单及关注名单的进口商和最终用户的申请，原则上不予许可；用于14纳米及以下逻辑芯片或256层及以上存储芯片研发生产，以及可能具有军事用途的人工智能研发的，逐案审批。",
            "三、用于紧急医疗、应对公共卫生事件、自然灾害救援等人道主义目的的，无需申请许可，但应在出口后10个工作日内向商务部报告。",
            "四、本公告第一条第（一）项、第（二）项的规定自2025年12月1日起实施，其他规定自公布之日起实施。",
            "商务部",
            "2025年10月9日",
        ],
        [
            ("附件1 物项清单", "/upload/uploadfile/attach/202510/09/20251009153023001.pdf"),
            ("附件2 合规提示函指引", "/upload/uploadfile/attach/202510/09/20251009153023002.pdf"),
        ],
        basis="scope, thresholds, timing and exceptions per the published text; wording condensed",
    ),
    A(
        1172,
        "/article/gndt/202510",
        "2025-10-09",
        "商务部新闻发言人就加强稀土相关物项出口管制应询答记者问",
        "商务部新闻办公室",
        (1,),
        [
            "问：商务部今日发布了加强稀土相关物项出口管制的公告，请问出台这些措施的考虑是什么？",
            "答：稀土相关物项具有军民两用属性，对稀土相关物项实施出口管制是国际通行做法。中方依法完善稀土出口管制，是为了更好维护国家安全和利益、履行防扩散等国际义务。",
            "对于符合规定的民用出口申请，将依法予以许可；对用于紧急医疗、公共卫生事件、自然灾害救援等人道主义目的的出口，无需申请许可。",
        ],
        basis="reconstructed Q&A (paraphrase)",
    ),
    A(
        1173,
        f"{ZCFG}/202510",
        "2025-10-09",
        "不可靠实体清单工作机制关于将反无人机技术公司等外国实体列入不可靠实体清单的公告",
        "安全与管制局",
        (9,),
        [
            "根据《中华人民共和国对外贸易法》《中华人民共和国国家安全法》《中华人民共和国反外国制裁法》等有关法律和《不可靠实体清单规定》第二条、第八条和第十条，工作机制决定将以下外国实体列入不可靠实体清单：",
            "1.反无人机技术公司（Dedrone by Axon）",
            "2.迪杰恩技术公司（DZYNE Technologies）",
            "3.埃比特系统美国分公司（Elbit Systems of America, LLC）",
            "4.伊比鲁斯公司（Epirus, Inc.）",
            "5.宇航环境公司（AeroVironment, Inc.）",
            "6.联合技术系统运营公司（Alliant Techsystems Operations LLC）",
            "7.贝宜系统股份有限公司（BAE Systems, Inc.）",
            "8.立方全球防务公司（Cubic Global Defense）",
            "9.哈利法克斯国际安全论坛（Halifax International Security Forum）",
            "10.TechInsights公司及其分支机构（TechInsights Inc.）",
            "上述实体被禁止从事与中国有关的进出口活动，禁止在中国境内新增投资。",
            "本公告自公布之日起实施。",
            "不可靠实体清单工作机制",
            "2025年10月9日",
        ],
        basis="entity names from the published list (subset of 14, quoted); measures condensed",
    ),
    A(
        1175,
        f"{ZCFG}/202510",
        "2025-10-09",
        "商务部 海关总署公告2025年第55号 公布对超硬材料相关物项实施出口管制的决定",
        "商务部 海关总署",
        (9, 1),
        [
            "商务部 海关总署公告2025年第55号",
            "根据《中华人民共和国出口管制法》《中华人民共和国对外贸易法》《中华人民共和国海关法》《中华人民共和国两用物项出口管制条例》有关规定，为维护国家安全和利益，经国务院批准，决定对超硬材料相关物项实施出口管制。有关事项公告如下：",
            "一、满足以下特性的物项，未经许可，不得出口：人造金刚石微粉（2C902.a）；人造金刚石单晶（2C902.b）；人造金刚石线锯（2C902.c）；人造金刚石砂轮（2C902.d）；直流电弧等离子体喷射化学气相沉积（DCPCVD）设备（2B005.b）及其工艺技术（2E902）。",
            "二、出口经营者出口上述物项，应当如实申报，并按照相关规定办理出口许可手续。",
            "三、本公告自2025年11月8日起正式实施。",
            "商务部 海关总署",
            "2025年10月9日",
        ],
    ),
    A(
        1176,
        f"{ZCFG}/202510",
        "2025-10-09",
        "商务部 海关总署公告2025年第56号 公布对部分稀土设备和原辅料相关物项实施出口管制的决定",
        "商务部 海关总署",
        (9,),
        [
            "商务部 海关总署公告2025年第56号",
            "根据《中华人民共和国出口管制法》等法律法规有关规定，为维护国家安全和利益，经国务院批准，决定对部分稀土生产设备和原辅料相关物项实施出口管制。",
            "一、满足以下特性的物项，未经许可，不得出口：部分稀土生产设备及其关键部件，以及部分稀土生产用原辅料。",
            "二、本公告自2025年11月8日起正式实施。",
            "商务部 海关总署",
            "2025年10月9日",
        ],
    ),
    A(
        1177,
        f"{ZCFG}/202510",
        "2025-10-13",
        "商务部 海关总署公告2025年第57号 公布对部分中重稀土相关物项实施出口管制的决定",
        "商务部 海关总署",
        (9,),
        [
            "商务部 海关总署公告2025年第57号",
            "根据《中华人民共和国出口管制法》等法律法规有关规定，为维护国家安全和利益，经国务院批准，决定对钬、铒、铥、铕、镱等中重稀土相关物项实施出口管制。",
            "一、满足以下特性的物项，未经许可，不得出口：上述中重稀土的金属、合金、氧化物及化合物等相关物项。",
            "二、本公告自2025年11月8日起正式实施。",
            "商务部 海关总署",
            "2025年10月9日",
        ],
    ),
    A(
        1178,
        f"{ZCFG}/202510",
        "2025-10-09",
        "商务部 海关总署公告2025年第58号 公布对锂电池和人造石墨负极材料相关物项实施出口管制的决定",
        "商务部 海关总署",
        (9,),
        [
            "商务部 海关总署公告2025年第58号",
            "根据《中华人民共和国出口管制法》等法律法规有关规定，为维护国家安全和利益，经国务院批准，决定对锂电池和人造石墨负极材料相关物项实施出口管制。有关事项公告如下：",
            "一、满足以下特性的物项，未经许可，不得出口：（一）重量能量密度≥300Wh/kg的锂离子电池电芯及模组，以及锂电池生产设备；（二）压实密度≥2.5g/cm³的磷酸铁锂等正极材料、正极材料前驱体及生产设备；（三）人造石墨负极材料及其生产设备、工艺技术。",
            "二、出口经营者应当在报关单中注明是否属于管制物项并列明技术参数。",
            "三、本公告自2025年11月8日起正式实施。",
            "商务部 海关总署",
            "2025年10月9日",
        ],
    ),
    A(
        1179,
        "/article/gndt/202510",
        "2025-10-15",
        "商务部新闻发言人就对韩华海洋株式会社5家美国相关子公司采取反制措施答记者问",
        "商务部新闻办公室",
        (1,),
        [
            "问：商务部宣布对韩华海洋株式会社5家美国相关子公司采取反制措施，请问有何考虑？",
            "答：针对美方对中国海事、物流和造船业发起301调查并采取相关措施，商务部依法决定对韩华海洋株式会社5家美国相关子公司采取反制措施，禁止境内组织、个人与其进行有关交易、合作等活动。",
        ],
        basis="reconstructed Q&A (paraphrase)",
    ),
    A(
        1185,
        "/article/gndt/202511",
        "2025-11-06",
        "中欧出口管制对话磋商在布鲁塞尔举行",
        "商务部安全与管制局",
        (1,),
        [
            "中欧出口管制对话磋商在布鲁塞尔举行。双方就各自出口管制政策、两用物项贸易便利化及供应链稳定等议题进行了交流，同意继续保持沟通。"
        ],
        basis="reconstructed news item (paraphrase)",
    ),
    A(
        1186,
        "/article/gndt/202511",
        "2025-11-06",
        "商务部新闻发言人就调整出口管制管控名单措施答记者问",
        "商务部新闻办公室",
        (1,),
        [
            "问：近日商务部发布了关于调整出口管制管控名单措施的公告，请问有何考虑？",
            "答：为落实中美吉隆坡经贸磋商共识，商务部决定，自2025年11月10日起暂停实施商务部公告2025年第13号对15家美国实体采取的措施；商务部公告2025年第21号对16家美国实体采取的相关措施继续暂停实施一年。",
            "出口经营者向上述实体出口两用物项的，应当依照规定向商务部提出申请，商务部将依据两用物项出口管制相关规定审核并办理。",
        ],
        basis="numbers, counts and dates per the published Q&A; wording condensed",
    ),
    A(
        1187,
        "/article/gndt/202511",
        "2025-11-06",
        "商务部新闻发言人就调整不可靠实体清单措施答记者问",
        "商务部新闻办公室",
        (1,),
        [
            "问：不可靠实体清单工作机制发布公告调整相关措施，请问有何考虑？",
            "答：为落实中美吉隆坡经贸磋商共识，不可靠实体清单工作机制决定，停止实施2025年3月4日公布的相关措施；自2025年11月10日起继续暂停实施2025年4月4日公布的相关措施一年。",
            "国内企业可申请与上述实体进行交易，不可靠实体清单工作机制将依法进行审核。",
        ],
        basis="dates and measures per the published Q&A; wording condensed",
    ),
    A(
        1199,
        "/article/gndt/202511",
        "2025-11-12",
        "商务部新闻发言人就美方暂停实施出口管制穿透性规则答记者问",
        "商务部新闻办公室",
        (1,),
        [
            "问：美国商务部产业与安全局宣布于2025年11月10日至2026年11月9日暂停实施出口管制穿透性规则，请问商务部对此有何评论？",
            "答：我们注意到，美方宣布暂停实施出口管制穿透性规则一年。在此期间，美国出口管制“实体清单”中的企业及其超过50%持股的关联企业将不受穿透性规则追加制裁。这是美方落实中美吉隆坡经贸磋商共识的重要举措。",
            "中方愿与美方秉持相互尊重、平等协商的原则，加强对话交流，共同维护全球产业链供应链稳定。",
        ],
        basis="quoted phrases from the published Q&A; connecting text condensed",
    ),
    A(
        1204,
        "/article/gndt/202601",
        "2026-01-06",
        "商务部新闻发言人就加强两用物项对日本出口管制答记者问",
        "商务部新闻办公室",
        (1,),
        [
            "问：商务部今天发布公告，加强两用物项对日本出口管制，请问出台这一措施的考虑是什么？",
            "答：日本领导人近期发表涉台错误言论，暗示武力介入台海的可能性，严重违背一个中国原则。为维护国家安全和利益、履行防扩散等国际义务，根据《中华人民共和国出口管制法》和《中华人民共和国两用物项出口管制条例》，商务部决定禁止所有两用物项对日本军事用户、军事用途，以及一切有助于提升日本军事实力的其他最终用户用途出口。",
            "任何国家和地区的组织和个人，违反上述规定，将原产于中华人民共和国的相关两用物项转移或提供给日本的组织和个人，将依法追究法律责任。",
        ],
        basis="quoted prohibition and liability clause; question condensed",
    ),
    A(
        1206,
        f"{ZCFG}/202601",
        "2026-01-06",
        "商务部公告2026年第1号 关于加强两用物项对日本出口管制的公告",
        "商务部",
        (9, 1),
        [
            "商务部公告2026年第1号",
            "根据《中华人民共和国出口管制法》《中华人民共和国两用物项出口管制条例》等法律法规有关规定，为维护国家安全和利益、履行防扩散等国际义务，决定加强两用物项对日本出口管制。现将有关事项公告如下：",
            "一、禁止所有两用物项对日本军事用户、军事用途，以及一切有助于提升日本军事实力的其他最终用户用途出口。",
            "二、任何国家和地区的组织和个人，违反上述规定，将原产于中华人民共和国的相关两用物项转移或提供给日本的组织和个人，将依法追究法律责任。",
            "三、本公告自公布之日起施行。",
            "商务部",
            "2026年1月6日",
        ],
        basis="prohibition quoted; article numbering and effect clause per the published announcement",
    ),
    A(
        1209,
        f"{ZCFG}/202602",
        "2026-02-24",
        "商务部公告2026年第11号 公布将20家日本实体列入出口管制管控名单",
        "商务部",
        (9,),
        [
            "商务部公告2026年第11号",
            "根据《中华人民共和国出口管制法》《中华人民共和国两用物项出口管制条例》等法律法规有关规定，为维护国家安全和利益、履行防扩散等国际义务，决定将以下20家日本实体列入出口管制管控名单（节录）：",
            "1.三菱造船株式会社（Mitsubishi Heavy Industries Shipbuilding Co.）",
            "2.川崎重工航空宇宙系统公司（Kawasaki Heavy Industries Aerospace Systems Company）",
            "3.富士通防卫与国家安全株式会社（Fujitsu Defense & National Security, Ltd.）",
            "4.IHI宇航株式会社（IHI Aerospace Co., Ltd.）",
            "5.日本宇宙航空研究开发机构（Japan Aerospace Exploration Agency）",
            "一、禁止两用物项出口经营者向上述实体出口两用物项；正在开展的相关出口活动应当立即停止。",
            "二、本公告自公布之日起实施。",
            "商务部",
            "2026年2月24日",
        ],
        basis="entity names quoted (5 of 20); published after the sample's last week (point-in-time test)",
    ),
    # 国际动态 (column 2)
    A(
        1034,
        "/article/gjdt/202409",
        "2024-09-18",
        "荷兰扩大对先进半导体生产设备的出口管制措施",
        "安全与管制局",
        (2,),
        ["荷兰政府宣布扩大对先进半导体生产设备的出口管制措施，相关企业出口部分光刻设备需向荷兰政府申请许可。"],
        basis="reconstructed news item (paraphrase)",
    ),
    A(
        1103,
        "/article/gjdt/202502",
        "2025-02-12",
        "日本修改出口管制清单，修订全面管制政策",
        "安全与管制局",
        (2,),
        ["日本经济产业省修改出口管制清单，新增半导体、增材制造等相关物项，并修订全面管制（catch-all）政策。"],
        basis="reconstructed news item (paraphrase)",
    ),
    A(
        1104,
        "/article/gjdt/202502",
        "2025-02-12",
        "欧盟发布两用物项出口管制年度报告",
        "安全与管制局",
        (2,),
        ["欧盟委员会发布两用物项出口管制年度报告，介绍成员国出口许可审批及执法情况。"],
        basis="reconstructed news item (paraphrase)",
    ),
    # The two 海关总署 items the W05 seed lists as title-only (filler: titles are the document numbers only).
    A(
        1180,
        f"{ZCFG}/202510",
        "2025-10-09",
        "海关总署公告2025年第61号",
        "海关总署",
        (9,),
        page="404",
        basis="FILLER: title-only item; the article page answers 404",
    ),
    A(
        1181,
        f"{ZCFG}/202510",
        "2025-10-09",
        "海关总署公告2025年第62号",
        "海关总署",
        (9,),
        page="garbled",
        basis="FILLER: title-only item; the recorded article page is garbled ('???')",
    ),
]

# Rows older than the lookback start (2023-01-01): listed on column 9's last fetched page, never fetched.
OLD_ROWS = [
    (
        444,
        "/article/zcfg/gnzcfg/gzjgfxwj/202111",
        "2021-12-30",
        "中华人民共和国生物两用品及相关设备和技术出口管制条例【已废止】",
    ),
    (442, "/article/zcfg/gnzcfg/gzjgfxwj/202111", "2021-12-30", "商用密码管理条例"),
    (439, "/article/zcfg/gnzcfg/gzjgfxwj/202111", "2021-12-30", "中华人民共和国监控化学品管理条例"),
]


def _script(a: Article) -> str:
    def q(s: str) -> str:
        return s.replace("\\", "\\\\").replace("'", "\\'")

    date = a.page_date or a.date
    return (
        f"<script>var title = '{q(a.title)}'; var source = '{q(a.source)}'; var publishTime = '{date}';"
        f" var articleId = '{a.no}'; var siteId = '7'; var subTitle = ''; var articleType = '0';"
        f" var infoType = '0';</script>"
    )


def article_html(a: Article) -> str:
    if a.page == "garbled":
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>??????2025?62?</title></head><body>'
            "<div class=\"u-art-box\"><script>var title = '??????2025?62?'; var publishTime = '2025-10-09';"
            '</script><div class="bd"><p>????????????????????</p><p>??????</p></div></div></body></html>'
        )
    paragraphs = "".join(f"<p>{p}</p>" for p in a.paragraphs)
    links = "".join(f'<p><a href="{href}" target="_blank">{text}</a></p>' for text, href in a.attachments)
    body = (
        f'<div class="bd">{paragraphs}{links}</div>'
        if a.page != "no_bd"
        else f'<div class="art-con">{paragraphs}</div>'
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{a.title}_中国出口管制信息网</title></head><body>"
        '<div class="m-header"><a href="/">中国出口管制信息网</a></div>'
        '<div class="u-art-box">'
        f"{_script(a)}"
        f'<div class="hd"><h1>{a.title}</h1><span>{a.page_date or a.date}</span></div>'
        f"{body}"
        "<!-- /正文 -->"
        '<div class="u-disclaimer-box">本网站所载信息仅供参考</div>'
        '<div class="u-art-box-footer">【打印本页】【关闭窗口】</div>'
        '</div><div class="ft">主办单位：中华人民共和国商务部 安全与管制局</div></body></html>'
    )


def list_row(no: int, path: str, date: str, title: str, source: str, column: int) -> dict:
    return {
        "id": no,
        "title": title,
        "url": f"{path}/{no}.html",
        "publishTimeStr": f"{date} 00:00:00",
        "source": source,
        "content": "",
        "columnName": COLUMN_NAMES[column],
    }


def capture(method: str, url: str, form: dict | None, status: int, body: str, content_type: str) -> dict:
    return {
        "format": CAPTURE_FORMAT,
        "source": "mofcom",
        "request": {"method": method, "url": url, "params": [], "form": form},
        "response": {"status": status, "headers": {"content-type": content_type}, "body": body},
        "recorded_at": RECORDED_AT,
    }


def list_pages() -> list[tuple[int, int, dict]]:
    pages: list[tuple[int, int, dict]] = []
    for column in (1, 2, 9):
        rows = [
            list_row(a.no, a.path, a.date, a.title, a.source, column)
            for a in sorted(ARTICLES, key=lambda a: (a.date, a.no), reverse=True)
            if column in a.columns
        ]
        if column == 9:
            # Page 2 repeats the last row of page 1 (a new article shifted the paging meanwhile) and reaches the
            # pre-2023 rows; maxPageNum says 3, but the crawler must stop after page 2.
            page1, rest = rows[:PAGE_SIZE], rows[PAGE_SIZE:]
            page2 = [page1[-1], *rest, *[list_row(n, p, d, t, "", 9) for n, p, d, t in OLD_ROWS]]
            total = len(page1) + len(page2) + 25
            pages.append((9, 1, {"pageInfo": {"total": total, "maxPageNum": 3, "rows": page1}}))
            pages.append((9, 2, {"pageInfo": {"total": total, "maxPageNum": 3, "rows": page2}}))
        else:
            pages.append((column, 1, {"pageInfo": {"total": len(rows), "maxPageNum": 1, "rows": rows}}))
    return pages


def build() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    written: list[Path] = []

    def put(doc: dict) -> None:
        req = doc["request"]
        key = request_key(req["method"], req["url"], [], req["form"])
        path = OUT / _file_name(key)
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)

    for column, page, reply in list_pages():
        form = {"pageNumber": str(page), "columnID": str(column), "title": ""}
        put(
            capture(
                "POST",
                LIST_URL,
                form,
                200,
                json.dumps(reply, ensure_ascii=False, separators=(",", ":")),
                "application/json;charset=UTF-8",
            )
        )
    for a in ARTICLES:
        url = BASE + a.url
        if a.page == "404":
            put(capture("GET", url, None, 404, "<html><body><h1>404 Not Found</h1></body></html>", "text/html"))
        else:
            put(capture("GET", url, None, 200, article_html(a), "text/html"))
    return written


if __name__ == "__main__":
    files = build()
    print(f"wrote {len(files)} captures to {OUT.relative_to(ROOT)}")
