"""The roster's columns, recognised by their headings in any order."""

import re
import unicodedata
from collections.abc import Iterable

# The headings accepted for each column, compared after NFKC folding and with
# spaces, a leading or trailing * or colon and a bracketed remark removed. The
# first heading is the one that messages and exports use.
COLUMN_HEADINGS: dict[str, tuple[str, ...]] = {
    "serial": ("序号", "编号"),
    "district": ("片区", "网格", "所属片区", "所属网格", "片区名称", "网格名称"),
    "village_group": ("村民小组", "组别", "小组", "组", "所属小组", "村民组"),
    "household_number": ("户号", "户编号", "户口编号", "家庭户号"),
    "name": ("姓名", "人员姓名", "村民姓名"),
    "sex": ("性别",),
    "relation": ("与户主关系", "关系", "与户主的关系", "户主关系"),
    "id_number": ("身份证号码", "身份证号", "公民身份号码", "公民身份证号码", "证件号码", "身份证"),
    "birth_date": ("出生日期", "出生年月日", "生日"),
    "ethnicity": ("民族",),
    "phone": ("联系电话", "手机号码", "手机号", "电话", "手机", "联系方式", "电话号码"),
    "political_status": ("政治面貌",),
    "education": ("文化程度", "学历"),
    "address": ("家庭住址", "住址", "地址", "现住址", "居住地址"),
    "population_type": ("人员类别", "人口类别", "人员类型", "人口类型", "居民类别", "户籍类别"),
    "note": ("备注",),
}
REQUIRED_COLUMNS = ("district", "household_number", "name", "sex", "relation", "id_number")

_HEADING_REMARK = re.compile(r"[(][^()]*[)]$")
_HEADING_TO_KEY = {
    heading: key for key, headings in COLUMN_HEADINGS.items() for heading in headings
}


def heading_key(heading: str) -> str | None:
    """Return the column key of a heading as written in a file, or None when it is unknown."""
    folded = unicodedata.normalize("NFKC", heading)
    folded = _HEADING_REMARK.sub("", re.sub(r"\s+", "", folded).strip("*:"))
    return _HEADING_TO_KEY.get(folded)


def heading_names(keys: Iterable[str]) -> list[str]:
    return [COLUMN_HEADINGS[key][0] for key in keys]


def heading_list(keys: Iterable[str]) -> str:
    # The headings are Chinese in every language, so they take the Chinese list comma.
    return "、".join(heading_names(keys))
