"""The roles of the scheme, each a Django group with its permissions.

Group names are what staff see in the admin, so they are the village's own
Chinese words; code refers to them through these constants.
"""

VILLAGE_ADMIN = "村书记"
DISTRICT_SECRETARY = "片区书记"
RECORDER = "记分员"
APPROVER = "审核员"
TOWNSHIP_VIEWER = "镇街查看"
VILLAGER = "村民"

# Permission codenames per role, as "app_label.codename".
PERMISSIONS: dict[str, list[str]] = {
    VILLAGE_ADMIN: [
        "villagers.view_village",
        "villagers.change_village",
        "villagers.view_district",
        "villagers.change_district",
        "villagers.view_household",
        "villagers.change_household",
        "villagers.view_villager",
        "villagers.change_villager",
        "points.view_category",
        "points.view_rule",
        "points.add_rule",
        "points.view_claim",
        "points.add_claim",
        "points.approve_claim",
        "points.view_ledgerentry",
        "points.reverse_entry",
        "points.view_balance",
        "points.view_objection",
        "points.decide_objection",
        "points.view_pointspolicy",
        "points.change_pointspolicy",
        "points.view_starthreshold",
        "points.add_starthreshold",
        "points.change_starthreshold",
        "points.delete_starthreshold",
        "patrols.view_patrol",
        "patrols.view_matter",
        "patrols.add_matter",
        "patrols.change_matter",
        "patrols.handle_any_district",
        "patrols.verify_matter",
        "patrols.view_escalation",
    ],
    DISTRICT_SECRETARY: [
        "villagers.view_district",
        "villagers.view_household",
        "villagers.view_villager",
        "points.view_category",
        "points.view_rule",
        "points.view_claim",
        "points.add_claim",
        "points.view_ledgerentry",
        "patrols.view_patrol",
        "patrols.add_patrol",
        "patrols.change_patrol",
        "patrols.view_matter",
        "patrols.add_matter",
        "patrols.change_matter",
    ],
    RECORDER: [
        "villagers.view_household",
        "villagers.view_villager",
        "points.view_category",
        "points.view_rule",
        "points.view_claim",
        "points.add_claim",
        "points.view_ledgerentry",
    ],
    APPROVER: [
        "villagers.view_household",
        "villagers.view_villager",
        "points.view_category",
        "points.view_rule",
        "points.view_claim",
        "points.approve_claim",
        "points.view_ledgerentry",
        "points.reverse_entry",
        "points.view_objection",
        "points.decide_objection",
    ],
    TOWNSHIP_VIEWER: [
        "villagers.view_village",
        "villagers.view_district",
        "points.view_category",
        "points.view_rule",
        "points.view_ledgerentry",
        "patrols.view_matter",
        "patrols.view_patrol",
    ],
    VILLAGER: [],
}
