"""The bundled sample dump, and bigger dumps built from it for benchmarks.

The pages are written for the project: short encyclopedia-style articles in traditional and
simplified Chinese that exercise everything a real zhwiki dump throws at the pipeline —
templates, links, tables, refs, every form of ``-{…}-`` conversion markup, 「」『』 quotes, empty
brackets — plus redirects and pages outside the article namespace that must be skipped.
``python -m prepsuite.text.sample OUT.xml.bz2 [--repeat N]`` writes a dump; the bundled file is
exactly ``build_dump(repeat=1)``, and the bundled multistream pair is
``build_multistream(…-multistream.xml.bz2, pages_per_stream=10)``.
"""

from __future__ import annotations

import argparse
import bz2
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

EXPORT_NS = "http://www.mediawiki.org/xml/export-0.11/"
NAMESPACES = [
    (-2, "媒体文件"), (-1, "Special"), (0, ""), (1, "Talk"), (2, "User"), (4, "Wikipedia"),
    (6, "File"), (10, "Template"), (14, "Category"), (828, "Module"),
]


@dataclass(frozen=True)
class SamplePage:
    title: str
    text: str
    ns: int = 0
    redirect: str | None = None


def _a(title: str, text: str) -> SamplePage:
    return SamplePage(title, text.strip() + "\n")


ARTICLES: list[SamplePage] = [
    _a("北京市", """
{{Infobox city|name=北京|population=21893095}}
'''北京市'''，簡稱「京」，是[[中華人民共和國]]的首都，也是全國的[[政治]]、[[文化]]和國際交往中心。<ref>{{cite web|url=http://example.org|title=北京概況}}</ref>
北京位於[[華北平原]]北部，背靠燕山，有三千多年建城史和八百多年建都史。
== 歷史 ==
北京在-{zh-hans:元朝;zh-hant:元朝}-時稱為大都，[[明朝]]永樂年間正式遷都北京。（）
北京的名勝古蹟眾多，包括[[故宮|紫禁城]]、[[天壇]]和[[頤和園]]。
"""),
    _a("上海市", """
'''上海市'''，簡稱「滬」，位於[[長江]]入海口，是中國最大的經濟中心城市之一。
上海港是世界上貨物吞吐量最大的港口之一。<ref name="port">上海港統計公報</ref>
上海的-{zh-cn:出租车;zh-tw:計程車;zh-hk:的士}-數量很多，地鐵網絡也非常發達。
{| class="wikitable"
|-
! 年份 !! 人口
|-
| 2020 || 2487萬
|}
外灘和陸家嘴是上海最著名的城市景觀。
"""),
    _a("長江", """
'''長江'''是[[亞洲]]第一長河，全長約6300公里，流經青海、西藏、四川等十一個省級行政區。
長江流域是中國經濟最發達的地區之一，三峽大壩是世界上最大的水力發電站。（，）
長江中下游平原土地肥沃，自古就是著名的「魚米之鄉」。
"""),
    _a("黃河", """
'''黃河'''是中國第二長河，被稱為中華民族的'''母親河'''。
黃河中游流經黃土高原，攜帶大量泥沙，因此河水呈黃色。<ref>黃河水利委員會</ref>
歷史上黃河多次改道，下游河床高出地面，形成著名的「地上河」。
"""),
    _a("孔子", """
'''孔子'''（前551年－前479年），名丘，字仲尼，[[春秋時期]]魯國人，是[[儒家]]學派的創始人。
孔子的言行被弟子記錄在《[[論語]]》中。他提出「仁」和「禮」的思想，主張「有教無類」。
孔子被後世尊為「至聖先師」，對東亞文化影響深遠。《》
"""),
    _a("李白", """
'''李白'''（701年－762年），字太白，號青蓮居士，是[[唐朝]]偉大的浪漫主義詩人，被後人譽為「詩仙」。
李白的詩歌想像豐富，語言流暢自然，代表作有『將進酒』、『蜀道難』和『靜夜思』。
他與[[杜甫]]並稱「李杜」。-{H|zh-hans:诗人;zh-hant:詩人;}-
"""),
    _a("杜甫", """
'''杜甫'''（712年－770年），字子美，是唐代偉大的現實主義詩人，被尊為「詩聖」。
杜甫的詩反映了[[安史之亂]]前後的社會現實，被稱為「詩史」。
代表作有「三吏」和「三別」，以及《春望》、《茅屋為秋風所破歌》等。
"""),
    _a("中國", """
'''中國'''是位於[[東亞]]的國家和地區，擁有五千年的悠久歷史和燦爛文化。
中國是世界上人口最多的國家之一，漢族是人數最多的民族。
中國的四大發明是造紙術、印刷術、火藥和指南針。（ ）
"""),
    _a("香港", """
'''香港'''位於[[珠江口]]東側，是國際金融中心之一。
香港的-{zh-hans:公交车;zh-hk:巴士;zh-tw:公車}-和渡輪是市民日常出行的重要交通工具。
維多利亞港兩岸的夜景聞名世界。
"""),
    _a("數學", """
'''數學'''是研究數量、結構、變化以及空間等概念的一門學科。
數學的主要分支包括[[代數]]、[[幾何]]、[[分析學|數學分析]]和[[機率論]]。<ref>數學百科全書</ref>
數學家利用抽象和邏輯推理，從計數、計算和量度中發展出嚴格的證明方法。
著名的[[勾股定理]]在中國古代稱為「勾股定理」，在西方稱為-{zh-cn:毕达哥拉斯定理;zh-tw:畢氏定理}-。
"""),
    _a("物理學", """
'''物理學'''是研究物質、能量以及它們之間相互作用的自然科學。
[[牛頓]]提出了三大運動定律和萬有引力定律，[[愛因斯坦]]提出了相對論。
量子力學描述了微觀粒子的運動規律，是現代物理學的基礎之一。&nbsp;
"""),
    _a("化學", """
'''化學'''是研究物質的組成、結構、性質以及變化規律的科學。
[[門捷列夫]]編製了第一張化學元素週期表。水的化學式是H<sub>2</sub>O。
化學反應中，原子重新組合形成新的物質，但原子本身不會改變。
"""),
    _a("生物學", """
'''生物學'''是研究生命現象和生物活動規律的科學。
[[達爾文]]提出了以自然選擇為基礎的進化論。（；）
細胞是生物體結構和功能的基本單位，[[DNA]]攜帶著遺傳信息。
"""),
    _a("計算機", """
'''-{zh-hans:计算机;zh-hant:電腦}-'''是一種利用電子技術進行高速計算和信息處理的機器。
第一台通用電子-{zh-hans:计算机;zh-hant:計算機}-ENIAC於1946年在美國誕生。
現代的-{zh-cn:软件;zh-tw:軟體}-和-{zh-cn:硬件;zh-tw:硬體}-共同構成完整的計算機系統。
-{T|zh-hans:计算机;zh-hant:電腦}-
"""),
    _a("互聯網", """
'''互聯網'''是由大量計算機網絡互相連接而成的全球性網絡。
互聯網使用TCP/IP協議族，提供電子郵件、-{zh-hans:万维网;zh-hant:全球資訊網}-等服務。
今天，互聯網已經深刻改變了人們的工作和生活方式。<ref>{{cite book|title=網絡簡史}}</ref>
"""),
    _a("人工智能", """
'''人工智能'''是研究如何使機器模擬人類智能的學科，簡稱AI。
[[機器學習]]是人工智能的重要分支，深度學習在圖像識別和語音識別領域取得了巨大成功。
-{A|zh-hans:人工智能;zh-tw:人工智慧}-的研究始於1956年的達特茅斯會議。
"""),
    _a("機器學習", """
'''機器學習'''是一門讓計算機從數據中學習規律的學科。
常見的方法包括監督學習、無監督學習和強化學習。（）
神經網絡通過反向傳播算法調整權重，從而減少預測誤差。
"""),
    _a("貓", """
'''貓'''是一種小型肉食性哺乳動物，是人類最常見的寵物之一。
貓的聽覺和嗅覺都很靈敏，夜間視力也很好。
古埃及人很早就開始飼養貓，並把貓視為神聖的動物。[[File:Cat03.jpg|thumb|一隻家貓]]
"""),
    _a("狗", """
'''狗'''是人類最早馴化的動物之一，被稱為「人類最忠實的朋友」。
狗的嗅覺非常靈敏，因此常被訓練成警犬、搜救犬和導盲犬。
"""),
    _a("大熊貓", """
'''大熊貓'''是中國特有的哺乳動物，主要生活在四川、陝西和甘肅的山區。
大熊貓以竹子為主要食物，每天要花十多個小時進食。
大熊貓被視為中國的國寶，也是世界自然基金會的標誌。{{Endangered}}
"""),
    _a("茶", """
'''茶'''是以茶樹的葉子加工而成的飲品，起源於中國。
茶可以分為綠茶、紅茶、烏龍茶、白茶、黃茶和黑茶六大類。
唐代[[陸羽]]著有《茶經》，是世界上第一部茶學專著。
"""),
    _a("漢字", """
'''漢字'''是記錄漢語的文字，已有三千多年的歷史。
漢字經歷了甲骨文、金文、篆書、隸書、楷書等演變過程。
二十世紀中國大陸推行簡化字，而臺灣和香港仍然使用繁體字。-{R|繁體字}-和簡化字之間可以互相轉換。
"""),
    _a("書法", """
'''書法'''是中國傳統的漢字書寫藝術，被譽為「無言的詩，無行的舞」。
[[王羲之]]被尊為「書聖」，他的『蘭亭集序』被稱為「天下第一行書」。
"""),
    _a("圍棋", """
'''圍棋'''是一種起源於中國的策略性棋類遊戲，使用黑白兩色棋子在十九路棋盤上對弈。
2016年，人工智能程式AlphaGo擊敗了世界冠軍李世乭，引起了廣泛關注。（ ， ）
"""),
    _a("太陽", """
'''太陽'''是太陽系的中心天體，佔太陽系總質量的99.86%。
太陽的能量來自核心的核聚變反應，它為地球上的生命提供光和熱。
"""),
    _a("月球", """
'''月球'''是地球唯一的天然衛星，距離地球約38萬公里。
1969年，美國太空人[[尼爾·阿姆斯特朗]]成為第一個登上月球的人。
中國的嫦娥工程已經實現了月球背面的軟著陸和月壤採樣返回。
"""),
    _a("地球", """
'''地球'''是太陽系中由內及外的第三顆行星，也是已知唯一存在生命的天體。
地球表面約71%被海洋覆蓋，大氣層主要由氮氣和氧氣組成。
地球繞太陽公轉一周約需365天，自轉一周約需24小時。
"""),
    _a("音樂", """
'''音樂'''是一種以聲音為表現手段的藝術形式。
中國古代的樂器有古琴、琵琶、二胡和笛子等。西方古典音樂的代表人物有[[巴赫]]、[[莫扎特]]和[[貝多芬]]。
"""),
    _a("足球", """
'''足球'''是世界上最受歡迎的體育運動之一，比賽由兩支各十一名球員的球隊進行。
國際足球總會每四年舉辦一次世界盃足球賽。中國古代的「蹴鞠」被認為是足球的起源之一。
"""),
    _a("春節", """
'''春節'''是中國最重要的傳統節日，即農曆新年。
春節期間，人們會貼春聯、放鞭炮、吃年夜飯、給孩子發壓歲錢。
"""),
    _a("中秋節", """
'''中秋節'''在農曆八月十五日，是中國的傳統節日之一。
中秋節的習俗包括賞月和吃月餅，象徵著家人團圓。（、）
"""),
    _a("絲綢之路", """
'''絲綢之路'''是古代連接中國與中亞、西亞和歐洲的貿易通道。
[[張騫]]出使西域，開闢了這條東西方交流的重要道路。絲綢、瓷器和茶葉通過絲綢之路傳到西方。
"""),
    _a("長城", """
'''長城'''是中國古代修築的軍事防禦工程，總長度超過兩萬公里。
現存的長城大多修建於[[明朝]]，八達嶺長城是最著名的一段。
1987年，長城被列入-{zh-hans:世界遗产;zh-hant:世界遺產}-名錄。
"""),
    _a("唐朝", """
'''唐朝'''（618年－907年）是中國歷史上最強盛的朝代之一，都城在長安。
唐朝的詩歌、書法和繪畫都達到了很高的水平，[[唐太宗]]開創了「貞觀之治」。
"""),
    _a("宋朝", """
'''宋朝'''（960年－1279年）分為北宋和南宋兩個時期。
宋朝的經濟和科技非常發達，活字印刷術就是北宋畢昇發明的。
"""),
    _a("明朝", """
'''明朝'''（1368年－1644年）由朱元璋建立。
明朝時期，[[鄭和]]率領船隊七次下西洋，到達了東南亞、南亞和東非。
"""),
    _a("清朝", """
'''清朝'''（1636年－1912年）是中國歷史上最後一個君主制朝代。
清朝的疆域遼闊，康熙、雍正和乾隆時期被稱為「康乾盛世」。
"""),
    _a("日本", """
'''日本'''是位於東亞的島國，由北海道、本州、四國和九州等島嶼組成。
日本的首都是東京，富士山是日本的最高峰。-{zh-sg:新加坡用语;zh-tw:臺灣用語}-
"""),
    _a("新加坡", """
'''新加坡'''是位於東南亞的城市國家，也是重要的國際金融和航運中心。
新加坡的官方語言有英語、華語、馬來語和泰米爾語。-{zh-my:马来西亚用语;zh-hk:香港用語}-在不同地區有所不同。
"""),
    _a("臺灣", """
'''臺灣'''是位於東亞的島嶼，西隔臺灣海峽與中國大陸相望。
臺灣的-{zh-tw:捷運;zh-hk:港鐵}-和高速鐵路是重要的交通工具，玉山是島上的最高峰。
"""),
    _a("米飯", """
'''米飯'''是用稻米加水煮熟而成的食物，是東亞和東南亞許多地區的主食。
中國南方以米飯為主食，北方則更多以麵食為主。
"""),
    _a("火星", """
'''火星'''是太陽系中由內及外的第四顆行星，因表面呈紅色而被稱為「紅色星球」。
2021年，中國的天問一號探測器攜帶祝融號火星車成功著陸火星。
"""),
    _a("电影", """
'''电影'''是一种结合了影像和声音的艺术形式，诞生于19世纪末。
1905年，中国拍摄了第一部电影《定军山》。现代电影产业包括制作、发行和放映等环节。
"""),
    _a("篮球", """
'''篮球'''是一项由两支各五名球员的球队进行的球类运动，1891年由詹姆斯·奈史密斯发明。
中国男子篮球职业联赛是中国最高水平的篮球联赛。姚明曾在NBA休斯顿火箭队效力。
"""),
    _a("象棋", """
'''象棋'''是中国传统的两人对弈棋类游戏，棋盘由九条竖线和十条横线组成。
象棋的棋子包括将、士、象、车、马、炮和兵，楚河汉界把棋盘分成两半。「」
"""),
    _a("故宫", """
'''故宫'''又称紫禁城，是明清两代的皇家宫殿，位于北京中轴线的中心。
故宫是世界上现存规模最大、保存最完整的木质结构古建筑群之一。&lt;ref&gt;故宫博物院&lt;/ref&gt;
"""),
    _a("韓國", """
'''韓國'''位於朝鮮半島南部，首都是首爾。
韓國的文字是諺文，由朝鮮王朝的世宗大王主持創製。[[Category:亞洲國家]]
"""),
    _a("地圖模板測試", """
{{Coord|39|54|N|116|23|E}}
{{Navbox|name=城市|list1=[[北京]]}}
"""),
]

SPECIAL_PAGES: list[SamplePage] = [
    SamplePage("京", "#REDIRECT [[北京市]]\n", redirect="北京市"),
    SamplePage("北平", "#重定向 [[北京市]]\n", redirect="北京市"),
    SamplePage("电脑", "#REDIRECT [[計算機]]\n", redirect="計算機"),
    SamplePage("因特网", "#REDIRECT [[互聯網]]\n", redirect="互聯網"),
    SamplePage("熊貓", "#REDIRECT [[大熊貓]]\n", redirect="大熊貓"),
    SamplePage("Template:Infobox city", "{{{name}}}的人口為{{{population}}}人。\n", ns=10),
    SamplePage("Template:Endangered", "本物種被列為瀕危物種。\n", ns=10),
    SamplePage("Category:亞洲國家", "亞洲國家的分類。\n", ns=14),
    SamplePage("Wikipedia:關於", "維基百科是一個自由的百科全書。\n", ns=4),
    SamplePage("File:Cat03.jpg", "一隻家貓的照片。\n", ns=6),
    SamplePage("Talk:北京市", "這篇條目需要更多來源。\n", ns=1),
    SamplePage("User:範例用戶", "我是一名維基人。\n", ns=2),
]


def sample_pages() -> list[SamplePage]:
    """Articles and special pages interleaved, the way a real dump mixes them."""
    pages: list[SamplePage] = []
    specials = iter(SPECIAL_PAGES)
    for i, art in enumerate(ARTICLES):
        pages.append(art)
        if i % 4 == 3:
            pages.extend(p for p in [next(specials, None)] if p is not None)
    pages.extend(specials)
    return pages


def _page_xml(page: SamplePage, page_id: int, title_suffix: str = "") -> str:
    title = escape(page.title + title_suffix)
    redirect = f'    <redirect title="{escape(page.redirect)}" />\n' if page.redirect else ""
    return (
        "  <page>\n"
        f"    <title>{title}</title>\n"
        f"    <ns>{page.ns}</ns>\n"
        f"    <id>{page_id}</id>\n"
        f"{redirect}"
        "    <revision>\n"
        f"      <id>{page_id * 10 + 1}</id>\n"
        "      <timestamp>2026-01-01T00:00:00Z</timestamp>\n"
        "      <contributor>\n        <username>prepsuite</username>\n        <id>1</id>\n      </contributor>\n"
        "      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
        f'      <text bytes="{len(page.text.encode())}" xml:space="preserve">{escape(page.text)}</text>\n'
        "    </revision>\n"
        "  </page>\n"
    )


def _header_xml() -> Iterator[str]:
    yield (
        f'<mediawiki xmlns="{EXPORT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'version="0.11" xml:lang="zh">\n'
        "  <siteinfo>\n    <sitename>维基百科</sitename>\n    <dbname>zhwiki</dbname>\n"
        "    <base>https://zh.wikipedia.org/wiki/Wikipedia:%E9%A6%96%E9%A1%B5</base>\n"
        "    <generator>MediaWiki 1.46.0-wmf.1</generator>\n    <case>first-letter</case>\n"
        "    <namespaces>\n"
    )
    for key, name in NAMESPACES:
        yield (f'      <namespace key="{key}" case="first-letter">{name}</namespace>\n' if name
               else f'      <namespace key="{key}" case="first-letter" />\n')
    yield "    </namespaces>\n  </siteinfo>\n"


def _pages_xml(repeat: int) -> Iterator[tuple[int, str, str]]:
    """(page id, title, XML) of every page; copies get new ids and titles."""
    page_id = 0
    for copy in range(repeat):
        suffix = "" if copy == 0 else f" ({copy})"
        for page in sample_pages():
            page_id += 1
            yield page_id, page.title + suffix, _page_xml(page, page_id, suffix)


def iter_dump_xml(repeat: int = 1) -> Iterator[str]:
    """The dump as XML text pieces; ``repeat`` > 1 copies every page with new ids and titles."""
    yield from _header_xml()
    for _, _, xml in _pages_xml(repeat):
        yield xml
    yield "</mediawiki>\n"


def build_multistream(path: str | Path, repeat: int = 1, pages_per_stream: int = 100) -> tuple[Path, Path]:
    """Write the same pages as :func:`build_dump` in Wikimedia's multistream layout.

    ``path`` must end in ``-multistream.xml.bz2``; the index is written beside it as
    ``…-multistream-index.txt.bz2`` (lines ``byte_offset:page_id:title``).
    """
    path = Path(path)
    if not path.name.endswith("-multistream.xml.bz2"):
        raise ValueError(f"{path}: a multistream dump's name ends in -multistream.xml.bz2")
    index_path = path.with_name(path.name[: -len(".xml.bz2")] + "-index.txt.bz2")
    path.parent.mkdir(parents=True, exist_ok=True)
    index_lines: list[str] = []
    with open(path, "wb") as out:
        out.write(bz2.compress("".join(_header_xml()).encode("utf-8")))
        batch: list[tuple[int, str, str]] = []

        def flush() -> None:
            offset = out.tell()
            out.write(bz2.compress("".join(xml for _, _, xml in batch).encode("utf-8")))
            index_lines.extend(f"{offset}:{pid}:{title}\n" for pid, title, _ in batch)
            batch.clear()

        for item in _pages_xml(repeat):
            batch.append(item)
            if len(batch) == pages_per_stream:
                flush()
        if batch:
            flush()
        out.write(bz2.compress(b"</mediawiki>\n"))
    index_path.write_bytes(bz2.compress("".join(index_lines).encode("utf-8")))
    return path, index_path


def build_dump(path: str | Path, repeat: int = 1, compresslevel: int = 9) -> Path:
    """Write the sample dump (``.bz2`` compressed when the name says so).

    ``compresslevel`` is bzip2's block size in 100 kB (Wikimedia's dumps use 9); a small one
    gives a small dump many bz2 blocks, for tests of cutting a dump at its blocks.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".bz2":
        out: IO[str] = bz2.open(path, "wt", compresslevel=compresslevel, encoding="utf-8")
    else:
        out = open(path, "w", encoding="utf-8")
    with out as fh:
        for piece in iter_dump_xml(repeat):
            fh.write(piece)
    return path


def article_count() -> int:
    """Articles in one copy of the sample that must reach the corpus."""
    return sum(1 for p in ARTICLES if p.title != "地圖模板測試")


def main() -> None:
    ap = argparse.ArgumentParser(description="Write the prepsuite sample wiki dump.")
    ap.add_argument("output", help="output path (.xml or .xml.bz2)")
    ap.add_argument("--repeat", type=int, default=1, help="copies of every page (bigger dumps)")
    ap.add_argument("--multistream", type=int, metavar="PAGES", default=0,
                    help="write a multistream dump (and its index) with PAGES pages per stream")
    args = ap.parse_args()
    if args.multistream:
        build_multistream(args.output, args.repeat, args.multistream)
    else:
        build_dump(args.output, args.repeat)


if __name__ == "__main__":
    main()
