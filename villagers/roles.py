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
        "patrols.view_patrol",
        "patrols.view_matter",
        "patrols.add_matter",
        "patrols.change_matter",
        "patrols.handle_any_district",
        "patrols.verify_matter",
        "patrols.view_escalation",
        "api.use_api",
        "api.view_roster",
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
        "api.use_api",
        "api.view_roster",
    ],
    RECORDER: [
        "villagers.view_household",
        "villagers.view_villager",
        "points.view_category",
        "points.view_rule",
        "points.view_claim",
        "points.add_claim",
        "points.view_ledgerentry",
        "api.use_api",
        "api.view_roster",
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
        "api.use_api",
        "api.view_roster",
    ],
    TOWNSHIP_VIEWER: [
        "villagers.view_village",
        "villagers.view_district",
        "points.view_category",
        "points.view_rule",
        "points.view_ledgerentry",
        "patrols.view_matter",
        "patrols.view_patrol",
        "api.use_api",
        "api.view_roster",
    ],
    VILLAGER: [],
}
