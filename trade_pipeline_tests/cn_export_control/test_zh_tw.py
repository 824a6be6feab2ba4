"""zh-TW conversion: OpenCC s2tw (characters, not phrases) from the maintained package, one spelling per term,
originals never touched."""

from __future__ import annotations

import importlib.metadata

import pytest

from trade_pipeline.defs.cn_export_control.zh_tw import GLOSSARY, VARIANT_SPELLINGS, to_zh_tw


def test_maintained_opencc_package_is_the_one_installed():
    # opencc-python-reimplemented ships the same module name; only the maintained binding may be installed
    assert importlib.metadata.version("opencc")
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("opencc-python-reimplemented")


@pytest.mark.parametrize(
    "simplified, expected",
    [
        ("商务部、海关总署公告2025年第57号", "商務部、海關總署公告2025年第57號"),
        ("自2025年11月8日起正式实施", "自2025年11月8日起正式實施"),
        ("本公告自公布之日起实施", "本公告自公布之日起實施"),
        ("商务部发布公告", "商務部發布公告"),
        (
            "公布对部分稀土设备和原辅料相关物项实施出口管制的决定",
            "公布對部分稀土設備和原輔料相關物項實施出口管制的決定",
        ),
        ("《中华人民共和国数据安全法》", "《中華人民共和國數據安全法》"),
        ("锂离子电池电芯及模组", "鋰離子電池電芯及模組"),
        # the announcement's own words, not Taiwan software phrasing (s2twp would print 除錯, 支援, 埃位元, 資料)
        ("设备调试及技术支持", "設備調試及技術支持"),
        ("将埃比特系统公司列入", "將埃比特系統公司列入"),
        ("台湾地区", "台灣地區"),
    ],
)
def test_official_terms_one_spelling(simplified, expected):
    assert to_zh_tw(simplified) == expected


def test_no_variant_spelling_survives():
    text = "商务部发布、公布、颁布；已公佈、發佈、頒佈；设备"
    out = to_zh_tw(text)
    for variant in VARIANT_SPELLINGS:
        assert variant not in out
    assert all(GLOSSARY[t] in out for t in ("发布", "公布", "颁布", "设备"))


def test_private_use_characters_pass_through():
    text = "发布\ue000公布"
    assert to_zh_tw(text) == "發布\ue000公布"


def test_empty_and_none():
    assert to_zh_tw("") == "" and to_zh_tw(None) == ""
