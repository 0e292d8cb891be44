import pytest

from shared.org_path import OrgPath


class TestConstruction:
    def test_accepts_the_root_and_paths_of_org_codes(self) -> None:
        assert OrgPath("/") == "/"
        assert OrgPath("/FTMS/D-NORTH/DLR-0042/") == "/FTMS/D-NORTH/DLR-0042/"

    def test_refuses_what_is_not_a_path_of_org_codes(self) -> None:
        for bad in ("", "FTMS/", "/FTMS", "//", "/FTMS//D1/", "/ftms/", "/F TMS/"):
            with pytest.raises(ValueError):
                OrgPath(bad)

    def test_a_child_is_the_parent_path_and_its_code(self) -> None:
        assert OrgPath.root().child("FTMS") == "/FTMS/"
        assert OrgPath("/FTMS/").child("D-NORTH") == "/FTMS/D-NORTH/"

    def test_is_a_string_for_sql_json_and_tokens(self) -> None:
        assert isinstance(OrgPath("/A/"), str) and {"/A/": 1}[OrgPath("/A/")] == 1


class TestTree:
    def test_depth_counts_orgs_below_the_root(self) -> None:
        assert [OrgPath(path).depth for path in ("/", "/A/", "/A/B/C/")] == [0, 1, 3]

    def test_parent_is_one_level_up_and_the_root_has_none(self) -> None:
        assert OrgPath("/A/B/").parent == "/A/"
        assert OrgPath("/A/").parent == "/"
        assert OrgPath("/").parent is None

    def test_ancestors_run_from_the_root_down_without_the_path_itself(self) -> None:
        assert OrgPath("/A/B/C/").ancestors == ("/", "/A/", "/A/B/")
        assert OrgPath("/").ancestors == ()

    def test_code_is_the_orgs_own_and_the_root_has_none(self) -> None:
        assert OrgPath("/A/B/").code == "B"
        assert OrgPath("/").code is None

    def test_at_depth_is_the_ancestor_at_that_level_or_the_path_itself(self) -> None:
        assert OrgPath("/A/B/C/").at_depth(1) == "/A/"
        assert OrgPath("/A/B/C/").at_depth(0) == "/"
        assert OrgPath("/A/").at_depth(2) == "/A/"

    def test_lineage_is_the_ancestors_and_the_path(self) -> None:
        assert OrgPath("/A/B/").lineage == ("/", "/A/", "/A/B/")


class TestContains:
    def test_a_path_contains_itself_and_its_subtree(self) -> None:
        assert OrgPath("/A/").contains("/A/") and OrgPath("/A/").contains("/A/B/")
        assert OrgPath("/").contains("/A/B/")

    def test_a_path_does_not_contain_a_sibling_sharing_its_letters_nor_an_ancestor(self) -> None:
        assert not OrgPath("/A/").contains("/AB/")
        assert not OrgPath("/A/B/").contains("/A/")

    def test_above_is_strict(self) -> None:
        assert OrgPath("/A/").is_above("/A/B/")
        assert not OrgPath("/A/").is_above("/A/")
        assert not OrgPath("/A/B/").is_above("/A/")


class TestCommonAncestor:
    def test_is_the_lowest_path_holding_them_all(self) -> None:
        assert OrgPath.common_ancestor(["/OEM/DN/D1/", "/OEM/DS/D3/"]) == "/OEM/"
        assert OrgPath.common_ancestor(["/OEM/DN/D1/", "/OEM/DN/D2/"]) == "/OEM/DN/"

    def test_of_one_path_is_the_path_and_of_strangers_the_root(self) -> None:
        assert OrgPath.common_ancestor(["/OEM/DN/D1/"]) == "/OEM/DN/D1/"
        assert OrgPath.common_ancestor(["/OEM/D1/", "/OTHER/D2/"]) == "/"

    def test_a_code_prefix_is_not_a_shared_ancestor(self) -> None:
        assert OrgPath.common_ancestor(["/OEM/D1/", "/OEM/D10/"]) == "/OEM/"

    def test_refuses_no_paths(self) -> None:
        with pytest.raises(ValueError):
            OrgPath.common_ancestor([])
