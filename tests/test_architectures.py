"""The catalogue of architectures (richneuron.architectures): ids, families, aliases, the study's
order, and parsing a list of ids; all without torch."""

import subprocess
import sys

import pytest

from richneuron.architectures import (
    ARCHITECTURES,
    FAMILIES,
    RELATED_FAMILIES,
    VERSION_ORDER,
    arch_info,
    parse_archs,
)


def test_parsing_a_list_of_ids():
    assert parse_archs("v10, singlu") == ("v10", "singlu")
    assert parse_archs(["kan", "v1"]) == ("kan", "v1")
    assert parse_archs("all") == tuple(ARCHITECTURES)
    with pytest.raises(ValueError, match="unknown architecture 'v99'.*vanilla"):
        parse_archs("v10,v99")
    with pytest.raises(ValueError, match="duplicate"):
        parse_archs("v10,v10")
    with pytest.raises(ValueError, match="empty"):
        parse_archs("")
    with pytest.raises(ValueError, match="empty"):
        parse_archs("v10,,v1")
    with pytest.raises(ValueError, match="unknown architecture 'relu'"):
        arch_info("relu")


def test_families_aliases_and_the_studys_order():
    assert arch_info("vanilla").family == arch_info("singlu").family == FAMILIES[0]
    assert arch_info("v10").family == "the study's variants" and not arch_info("v10").is_related
    assert arch_info("kan").family == "related: learned" and arch_info("kan").is_related
    assert {a.family for a in ARCHITECTURES.values()} == set(FAMILIES)
    assert {a.chapter for a in ARCHITECTURES.values() if a.is_related} == set(RELATED_FAMILIES)
    # v4_glu is SinGLU under another name: it shares SinGLU's layer and cached results.
    assert arch_info("v4_glu").canonical == "singlu" and arch_info("v10").canonical == "v10"
    assert VERSION_ORDER[0] == "v1" and VERSION_ORDER[-1] == "v15"
    assert "v4_glu" not in VERSION_ORDER and "singlu" not in VERSION_ORDER
    # the boundedness ablations are no variant of the study's: no claim counts them
    assert arch_info("singlu_ln").is_ablation and arch_info("v7_value").family == "ablations"
    assert not {"singlu_ln", "v7_value"} & set(VERSION_ORDER)
    assert all(a.matrices >= 1 for a in ARCHITECTURES.values())


def test_the_catalogue_loads_without_torch():
    code = "import sys, richneuron.architectures; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
