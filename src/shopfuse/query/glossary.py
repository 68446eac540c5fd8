"""A multilingual glossary of e-commerce attribute words, used to give a shop's values aliases.

Word-level similarity across languages is the weak point of sentence encoders: USE-multilingual puts
"开衫" closer to "Shirt" than to "Cardigan". Sentence-level meaning is fine, single words are not. The
glossary names common attribute concepts (colours, garment and accessory types, patterns, audiences,
seasons, occasions) with their words in English and Chinese. A shop's own value ("Cardigan",
"Dark Blue", "Leggings/Tights") is linked to the concepts whose English words it matches, reliably
since that is same-language matching, and inherits their other-language words as aliases.

Entries are ``english words | chinese words [| narrower kinds]``, words separated by ``;``. Add
languages by adding words: any word of any language is an alias. The optional third field names
narrower concepts by one of their English words ("jeans" under "trousers"): a query for the broad
kind accepts products of every narrower kind the shop has, since shops cut their type lists
differently (one shop's "Trousers" is another's "Jeans" + "Track Pants").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from shopfuse.encoders.base import TextEncoder
from shopfuse.query.understanding import readable_value

__all__ = ["GLOSSARY", "concepts", "narrower_values", "translations", "value_aliases"]

GLOSSARY = """
black | 黑色; 黑
white | 白色; 白
off white; cream; ivory | 米白色; 乳白色; 奶白色
grey; gray | 灰色; 灰
dark grey; charcoal | 深灰色; 炭灰色
light grey | 浅灰色
blue | 蓝色; 蓝
dark blue; navy blue; navy | 深蓝色; 藏青色; 海军蓝
light blue; sky blue | 浅蓝色; 天蓝色
turquoise; teal | 青绿色; 绿松石色; 蓝绿色
red | 红色; 红
dark red; burgundy; maroon | 深红色; 酒红色; 枣红色
pink | 粉色; 粉红色
light pink | 浅粉色; 淡粉色
dark pink; fuchsia | 深粉色; 玫红色
green | 绿色; 绿
dark green; olive | 深绿色; 墨绿色; 橄榄绿
light green; mint | 浅绿色; 薄荷绿
khaki; greenish khaki | 卡其色; 军绿色
beige | 米色; 米黄色
light beige; nude | 浅米色; 裸色
dark beige; camel | 深米色; 驼色
greyish beige; taupe | 灰米色; 灰褐色
brown; yellowish brown; tan | 棕色; 咖啡色; 褐色; 黄棕色
yellow | 黄色; 黄
orange | 橙色; 橘色
light orange; peach | 浅橙色; 桃色
purple; violet | 紫色
lilac; light purple | 浅紫色; 淡紫色
gold | 金色
silver | 银色
bronze; copper | 古铜色; 铜色
transparent; clear | 透明
multi; multicolour | 多色; 彩色
trousers; pants | 裤子; 长裤; 西裤 | jeans; track pants; lounge pants; capris
track pants; joggers; sweatpants | 运动裤; 卫裤
lounge pants | 家居裤
capris; capri pants | 七分裤
jeans | 牛仔裤
shorts | 短裤
skirt | 半身裙; 短裙; 裙子
dress; dresses | 连衣裙; 裙子
t-shirt; tshirts; tee | T恤; 短袖; 体恤
shirt; shirts | 衬衫; 衬衣
blouse | 女士衬衫; 女衬衫
top; tops | 上衣 | t-shirt; shirt; blouse; vest top; polo shirt; tunic
tunic; tunics; kurti; kurtis | 束腰上衣
vest top; tank top; camisole | 背心; 吊带; 吊带衫
sweater; jumper; pullover | 毛衣; 针织衫; 套头衫 | cardigan
cardigan | 开衫; 针织开衫
hoodie | 连帽衫; 连帽卫衣
sweatshirt; sweatshirts | 卫衣
jacket; jackets | 夹克; 外套
coat | 大衣
blazer; blazers | 西装外套; 西服
suit; suits | 西装; 套装
bra | 文胸; 胸罩; 内衣
underwear bottom; briefs; panties; boxers; trunks | 内裤
socks | 袜子; 短袜
tights; underwear tights; pantyhose; stockings | 连裤袜; 丝袜
leggings; leggings/tights | 打底裤; 紧身裤
bikini top | 比基尼上衣
swimwear bottom; bikini bottom; swim shorts | 泳裤; 比基尼下装
swimsuit; swimwear | 泳衣; 连体泳衣 | bikini top; swimwear bottom
jumpsuit; playsuit; jumpsuit/playsuit | 连体裤; 连身裤
bodysuit; body | 连体衣; 紧身连体衣
pyjamas; nightwear; pyjama set | 睡衣; 睡衣套装
pyjama bottom | 睡裤
shoes; footwear | 鞋; 鞋子 | sneakers; boots; sandals; heels; flats; wedges; slippers; formal shoes
formal shoes | 正装鞋; 皮鞋
sneakers; sports shoes; casual shoes | 运动鞋; 休闲鞋
boots | 靴子; 靴
sandals | 凉鞋
heels; heeled sandals | 高跟鞋; 高跟凉鞋
flats; ballerinas; ballet flats | 平底鞋; 芭蕾平底鞋
wedges; wedge | 坡跟鞋
slippers; flip flops | 拖鞋; 人字拖
bag; bags | 包; 包包 | handbag; shoulder bag; backpack; clutch
clutch; clutches | 手拿包
handbag; handbags | 手提包; 手袋
shoulder bag | 单肩包; 斜挎包
backpack; backpacks | 背包; 双肩包
wallet; wallets | 钱包
belt; belts | 腰带; 皮带
scarf; scarves | 围巾
hat; beanie; hat/beanie; caps | 帽子; 毛线帽
sunglasses | 太阳镜; 墨镜
watch; watches | 手表
earring; earrings | 耳环; 耳钉
necklace; necklaces | 项链
ring; rings | 戒指
bracelet; bracelets | 手链; 手镯
hair band; hair/alice band; headband | 发箍; 发带
hair clip | 发夹
hair ties; hair string; scrunchie | 发圈; 发绳
umbrella | 雨伞; 伞
polo shirt | Polo衫; 翻领T恤
solid; plain | 纯色; 素色
stripe; striped | 条纹
check; checked; plaid | 格子; 格纹
dot; polka dot | 波点; 圆点
floral; flowers | 碎花; 花卉
print; all over pattern; placement print; front print | 印花; 图案
lace | 蕾丝
denim | 牛仔
embroidery | 刺绣
sequin; glitter; glittering/metallic | 亮片; 闪光
men; menswear; male | 男士; 男装; 男
women; ladieswear; female | 女士; 女装; 女
boys | 男童
girls | 女童
kids; children; baby/children | 儿童; 童装
baby | 婴儿
unisex | 中性; 男女同款
summer | 夏季; 夏天
winter | 冬季; 冬天
spring | 春季; 春天
fall; autumn | 秋季; 秋天
casual | 休闲
formal | 正装; 正式
sports; sport; sportswear | 运动
party | 派对; 聚会
ethnic | 民族风
"""


def concepts(text: str = GLOSSARY) -> list[tuple[list[str], list[str]]]:
    """``[(english words, other-language words)]`` from glossary text."""
    return [(english, other) for english, other, _ in _entries(text)]


def _entries(text: str = GLOSSARY) -> list[tuple[list[str], list[str], list[str]]]:
    """``[(english words, other-language words, narrower concept words)]`` from glossary text."""
    out = []
    for line in text.strip().splitlines():
        if "|" not in line:
            continue
        fields = [[w.strip() for w in part.split(";") if w.strip()] for part in line.split("|")]
        out.append((fields[0], fields[1], fields[2] if len(fields) > 2 else []))
    return out


def _singular(word: str) -> str:
    """A word for exact comparison: case-folded, a plural ending dropped ("Sweaters" = "sweater")."""
    word = word.casefold().strip()
    for ending in ("ses", "xes", "s"):
        if word.endswith(ending) and len(word) > len(ending) + 2 and not word.endswith("ss"):
            return word[: -len(ending)] if ending == "s" else word[:-2]
    return word


def _links(
    encoder: TextEncoder, vocabulary: Mapping[str, Sequence[str]], threshold: float
) -> dict[str, dict[str, set[int]]]:
    """``{label: {value: {concept index}}}``: the glossary concepts each value names.

    A value names a concept when one of the concept's English words equals it (case-insensitive) or
    is at least ``threshold`` similar to it; only the best concept (and ties) per value is taken.
    """
    entries = _entries()
    words = [w for english, _, _ in entries for w in english]
    owner = [i for i, (english, _, _) in enumerate(entries) for _ in english]
    word_vectors = encoder.encode_text(words, role="query")
    out: dict[str, dict[str, set[int]]] = {}
    for label, values in vocabulary.items():
        names = [str(v) for v in values]
        if not names:
            continue
        sims = encoder.encode_text([readable_value(n) for n in names], role="query") @ word_vectors.T
        for row, name in enumerate(names):
            own = {_singular(name), _singular(readable_value(name))}
            for j, word in enumerate(words):
                if _singular(word) in own:
                    sims[row, j] = 2.0
            best = float(sims[row].max())
            if best >= threshold:
                out.setdefault(label, {})[name] = {owner[j] for j in np.flatnonzero(sims[row] >= best - 1e-6)}
    return out


def translations(text: str = GLOSSARY) -> dict[str, str]:
    """``{other-language word: English word}``: a query phrase the glossary knows, in English.

    Lets a Chinese phrase for a kind the shop does not sell ("开衫" with no cardigans) be matched the
    way its English word is, instead of drifting to whatever value sounds closest in Chinese.
    """
    out: dict[str, str] = {}
    for english, other, _ in _entries(text):
        for word in other:
            out.setdefault(word.casefold(), english[0])
    return out


def value_aliases(
    encoder: TextEncoder, vocabulary: Mapping[str, Sequence[str]], *, threshold: float = 0.85
) -> dict[str, dict[str, list[str]]]:
    """``{label: {value: [aliases]}}``: each value inherits the words of the concepts it names.

    Aliases are the concepts' other-language words and their other English words ("Briefs" is
    also "underwear bottom", "内裤").
    """
    entries = _entries()
    out: dict[str, dict[str, list[str]]] = {}
    for label, linked in _links(encoder, vocabulary, threshold).items():
        for name, found in linked.items():
            words = [w for i in sorted(found) for w in (*entries[i][1], *entries[i][0])]
            aliases = [w for w in dict.fromkeys(words) if w.casefold() != readable_value(name).casefold()]
            if aliases:
                out.setdefault(label, {})[name] = aliases
    return out


def narrower_values(
    encoder: TextEncoder, vocabulary: Mapping[str, Sequence[str]], *, threshold: float = 0.85
) -> dict[str, dict[str, list[str]]]:
    """``{label: {value: [values of narrower kinds]}}`` among the shop's own values.

    "Trousers" -> ["Jeans", "Track Pants"] when the shop has those values: the glossary says jeans
    and track pants are kinds of trousers.
    """
    entries = _entries()
    first = {w.casefold(): i for i, (english, _, _) in enumerate(entries) for w in english}
    out: dict[str, dict[str, list[str]]] = {}
    for label, linked in _links(encoder, vocabulary, threshold).items():
        for name, found in linked.items():
            kinds = {first[w.casefold()] for i in found for w in entries[i][2] if w.casefold() in first}
            below = [other for other, theirs in linked.items() if other != name and theirs & kinds]
            if below:
                out.setdefault(label, {})[name] = below
    return out
