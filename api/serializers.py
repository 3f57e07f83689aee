"""API representations. Read serializers are flat so that CSV and XLSX columns map one to one.

Personal data leaves only masked: names as ``张*明``, ID numbers as
``330109********1234`` and phones as ``138****5678``.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from patrols.models import FollowUp, Matter, Meeting
from points.models import Balance, Category, Claim, LedgerEntry, Objection, Rule
from points.selectors import mask_name
from villagers.identity import mask_phone
from villagers.models import District, Household, Township, Village, Villager


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable error code, such as invalid, not_authenticated, "
        "permission_denied, not_found, throttled or idempotency_key_reused."
    )
    message = serializers.CharField(help_text="What failed, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per invalid request field; empty for errors not tied to a field.",
    )


class TownshipSerializer(serializers.ModelSerializer):
    class Meta:
        model = Township
        fields = ["id", "name"]


class VillageSerializer(serializers.ModelSerializer):
    township_name = serializers.CharField(source="township.name", label=_("township name"))

    class Meta:
        model = Village
        fields = [
            "id",
            "name",
            "township",
            "township_name",
            "small_matter_limit",
            "medium_matter_limit",
            "big_matter_limit",
        ]


class DistrictSerializer(serializers.ModelSerializer):
    village_name = serializers.CharField(source="village.name", label=_("village name"))

    class Meta:
        model = District
        fields = ["id", "name", "village", "village_name"]


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "code", "name", "description", "position", "is_active"]


class RuleSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", label=_("governance item name"))

    class Meta:
        model = Rule
        fields = [
            "id",
            "category",
            "category_name",
            "title",
            "points",
            "cap",
            "cap_period",
            "photo_required",
            "valid_from",
            "valid_to",
            "previous",
        ]


class HouseholdSerializer(serializers.ModelSerializer):
    district_name = serializers.CharField(source="district.name", label=_("district name"))

    class Meta:
        model = Household
        fields = ["id", "number", "village", "district", "district_name", "village_group"]


class VillagerSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField(
        label=_("name"), help_text="Masked name, such as 张*明."
    )
    household_number = serializers.CharField(source="household.number", label=_("household number"))
    village = serializers.IntegerField(source="household.village_id", label=_("village"))
    district = serializers.IntegerField(source="household.district_id", label=_("district"))
    id_number_masked = serializers.CharField(
        label=_("ID number"), help_text="First 6 and last 4 characters of the ID number."
    )
    phone = serializers.SerializerMethodField(
        label=_("phone"), help_text="First 3 and last 4 digits of the phone number."
    )
    birth_year = serializers.IntegerField(source="birth_date.year", label=_("birth year"))

    class Meta:
        model = Villager
        fields = [
            "id",
            "name",
            "household",
            "household_number",
            "village",
            "district",
            "relation_to_head",
            "sex",
            "birth_year",
            "id_number_masked",
            "phone",
            "is_party_member",
            "status",
            "population_type",
        ]

    def get_name(self, villager: Villager) -> str:
        return mask_name(villager.name)

    def get_phone(self, villager: Villager) -> str:
        return mask_phone(villager.phone) if villager.phone else ""


class LedgerEntrySerializer(serializers.ModelSerializer):
    villager_name = serializers.SerializerMethodField(
        label=_("villager name"), help_text="Masked name, such as 张*明."
    )
    household_number = serializers.CharField(source="household.number", label=_("household number"))
    district = serializers.IntegerField(source="household.district_id", label=_("district"))
    status = serializers.SerializerMethodField(
        label=_("status"),
        help_text="posted: counts in full; reversed: cancelled by a later entry; "
        "reversal: the entry that cancels another.",
    )

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "village",
            "district",
            "household",
            "household_number",
            "villager",
            "villager_name",
            "category",
            "category_name",
            "rule",
            "rule_title",
            "points",
            "act_date",
            "posted_at",
            "status",
            "reverses",
            "reason",
        ]

    def get_villager_name(self, entry: LedgerEntry) -> str:
        return mask_name(entry.villager_name)

    @extend_schema_field(serializers.ChoiceField(choices=["posted", "reversed", "reversal"]))
    def get_status(self, entry: LedgerEntry) -> str:
        if entry.reverses_id is not None:
            return "reversal"
        # is_reversed is annotated by api.selectors.ledger_entries.
        return "reversed" if getattr(entry, "is_reversed", False) else "posted"


class MatterSerializer(serializers.ModelSerializer):
    """A matter with the fields of an Open311 service request."""

    service_request_id = serializers.IntegerField(source="id", label=_("matter"))
    service_code = serializers.CharField(
        source="category.code",
        default=None,
        allow_null=True,
        label=_("code"),
        help_text="Code of the governance item, or null.",
    )
    service_name = serializers.CharField(
        source="category.name",
        default=None,
        allow_null=True,
        label=_("governance item"),
        help_text="Name of the governance item, or null.",
    )
    district_name = serializers.CharField(source="district.name", label=_("district name"))
    requested_datetime = serializers.DateTimeField(source="reported_at", label=_("reported at"))
    expected_datetime = serializers.DateTimeField(source="deadline", label=_("deadline"))
    updated_datetime = serializers.DateTimeField(
        label=_("updated at"), help_text="Time of the matter's last recorded change."
    )
    open311_status = serializers.SerializerMethodField(
        label=_("open or closed"), help_text="Open311 status: open until resolved, then closed."
    )
    is_overdue = serializers.SerializerMethodField(
        label=_("overdue"), help_text="True once the matter passed its deadline unsettled."
    )

    class Meta:
        model = Matter
        fields = [
            "service_request_id",
            "title",
            "description",
            "severity",
            "status",
            "open311_status",
            "service_code",
            "service_name",
            "village",
            "district",
            "district_name",
            "requested_datetime",
            "expected_datetime",
            "updated_datetime",
            "resolved_at",
            "is_overdue",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=["open", "closed"]))
    def get_open311_status(self, matter: Matter) -> str:
        return "open" if matter.is_open else "closed"

    def get_is_overdue(self, matter: Matter) -> bool:
        if matter.is_open:
            return matter.deadline <= self.context["now"]
        return matter.resolved_at is not None and matter.resolved_at > matter.deadline


class ClaimSubmitSerializer(serializers.Serializer):
    villager = serializers.PrimaryKeyRelatedField(
        queryset=Villager.objects.none(), help_text="Id of the villager who earned the points."
    )
    rule = serializers.IntegerField(
        min_value=1,
        help_text="Id of the rule. Any version's id will do: the claim is scored under the "
        "version in force on act_date.",
    )
    act_date = serializers.DateField(help_text="Day of the act, not in the future.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ClaimSerializer(serializers.ModelSerializer):
    class Meta:
        model = Claim
        fields = ["id", "villager", "rule", "act_date", "note", "status", "recorded_at"]


class MatterReportSerializer(serializers.Serializer):
    district = serializers.PrimaryKeyRelatedField(
        queryset=District.objects.none(), help_text="Id of the district where the matter is."
    )
    severity = serializers.ChoiceField(choices=Matter.Severity.choices)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Id of the governance item, if any.",
    )


class PointsStatisticSerializer(serializers.Serializer):
    village = serializers.IntegerField(label=_("village"))
    village_name = serializers.CharField(label=_("village name"))
    category = serializers.IntegerField(label=_("governance item"))
    category_name = serializers.CharField(label=_("governance item name"))
    month = serializers.CharField(label=_("month"), help_text="Month of the acts, as YYYY-MM.")
    points = serializers.IntegerField(label=_("points"), help_text="Sum of the entries' points.")
    entry_count = serializers.IntegerField(label=_("entries"))


class RankingRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(label=_("rank"))
    points = serializers.IntegerField(label=_("points"))
    household_number = serializers.CharField(
        label=_("household number"), help_text="Empty on a villager row that shows a name."
    )
    name = serializers.CharField(
        label=_("name"), help_text="In the form the village shows on its public rankings."
    )


class RankingSerializer(serializers.Serializer):
    village = serializers.IntegerField()
    period = serializers.CharField(help_text="all, YYYY, YYYY-Qn or YYYY-MM.")
    truncated = serializers.BooleanField(
        help_text="True when the period has more accounts than the ranking lists."
    )
    results = RankingRowSerializer(many=True, source="rows")


class OnTimeRateSerializer(serializers.Serializer):
    name = serializers.CharField(
        label=_("name"), help_text="Name of the village or district, as chosen with by."
    )
    village = serializers.IntegerField(label=_("village"), help_text="Id of the village.")
    village_name = serializers.CharField(label=_("village name"))
    district = serializers.IntegerField(
        label=_("district"),
        allow_null=True,
        help_text="Id of the district; null in the rates by village.",
    )
    closed = serializers.IntegerField(label=_("closed"), help_text="Matters resolved or verified.")
    closed_on_time = serializers.IntegerField(label=_("closed on time"))
    open_overdue = serializers.IntegerField(label=_("open and overdue"))
    on_time_rate = serializers.FloatField(
        label=_("on-time rate"),
        allow_null=True,
        help_text="closed_on_time ÷ (closed + open_overdue), from 0 to 1; "
        "null when there is nothing to count.",
    )


class StarHouseholdSerializer(serializers.ModelSerializer):
    village_name = serializers.CharField(source="village.name", label=_("village name"))
    household_number = serializers.CharField(source="household.number", label=_("household number"))
    year = serializers.SerializerMethodField(label=_("year"))
    honour_points = serializers.IntegerField(
        source="points", label=_("honour points"), help_text="Honour points in the year."
    )
    stars = serializers.IntegerField(
        label=_("stars"),
        help_text="Highest star level of the village's thresholds for the year that the "
        "honour points reach, from 1 to 5.",
    )

    class Meta:
        model = Balance
        fields = [
            "village",
            "village_name",
            "household",
            "household_number",
            "year",
            "honour_points",
            "stars",
        ]

    def get_year(self, balance: Balance) -> int:
        return int(balance.period)


class ClaimDetailSerializer(serializers.ModelSerializer):
    """A claim with its state and the dates of its public notice (公示)."""

    village = serializers.IntegerField(source="villager.household.village_id", label=_("village"))
    household = serializers.IntegerField(source="villager.household_id", label=_("household"))
    household_number = serializers.CharField(
        source="villager.household.number", label=_("household number")
    )
    villager_name = serializers.SerializerMethodField(
        label=_("villager name"), help_text="Masked name, such as 张*明."
    )
    category = serializers.IntegerField(source="rule.category_id", label=_("governance item"))
    category_name = serializers.CharField(
        source="rule.category.name", label=_("governance item name")
    )
    rule_title = serializers.CharField(source="rule.title", label=_("scored act"))
    points = serializers.IntegerField(
        source="rule.points", label=_("points"), help_text="Points of the rule version."
    )

    class Meta:
        model = Claim
        fields = [
            "id",
            "village",
            "household",
            "household_number",
            "villager",
            "villager_name",
            "category",
            "category_name",
            "rule",
            "rule_title",
            "points",
            "act_date",
            "status",
            "channel",
            "recorded_at",
            "decided_at",
            "notice_starts_at",
            "notice_ends_at",
            "posted_at",
        ]

    def get_villager_name(self, claim: Claim) -> str:
        return mask_name(claim.villager.name)


class ObjectionSerializer(serializers.ModelSerializer):
    """An objection to a claim on public notice; who raised it is not shown."""

    village = serializers.IntegerField(
        source="claim.villager.household.village_id", label=_("village")
    )
    claim_status = serializers.ChoiceField(
        source="claim.status", choices=Claim.Status.choices, label=_("claim status")
    )

    class Meta:
        model = Objection
        fields = [
            "id",
            "claim",
            "claim_status",
            "village",
            "status",
            "reason",
            "raised_at",
            "review_deadline",
            "overdue_flagged_at",
            "decided_at",
            "decision_note",
        ]


class PatrolComplianceSerializer(serializers.Serializer):
    village = serializers.IntegerField(label=_("village"))
    district = serializers.IntegerField(label=_("district"))
    district_name = serializers.CharField(label=_("district name"))
    month = serializers.CharField(label=_("month"), help_text="Month of the days, as YYYY-MM.")
    days_checked = serializers.IntegerField(
        label=_("days checked"), help_text="Days the morning patrol check recorded."
    )
    days_kept = serializers.IntegerField(
        label=_("days kept"), help_text="Checked days with enough patrols long enough."
    )
    compliance_rate = serializers.FloatField(
        label=_("compliance rate"),
        allow_null=True,
        help_text="days_kept ÷ days_checked, from 0 to 1; null with no checked day.",
    )


class MeetingSerializer(serializers.ModelSerializer):
    village_name = serializers.CharField(source="village.name", label=_("village name"))
    attendee_count = serializers.IntegerField(label=_("attendees"))
    follow_up_count = serializers.IntegerField(label=_("follow-ups"))
    open_follow_up_count = serializers.IntegerField(label=_("open follow-ups"))

    class Meta:
        model = Meeting
        fields = [
            "id",
            "village",
            "village_name",
            "date",
            "minutes",
            "attendee_count",
            "follow_up_count",
            "open_follow_up_count",
            "created_at",
        ]


class FollowUpSerializer(serializers.ModelSerializer):
    """A decision of a meeting, with the person who owns it."""

    village = serializers.IntegerField(source="meeting.village_id", label=_("village"))
    meeting_date = serializers.DateField(source="meeting.date", label=_("meeting date"))
    owner_name = serializers.SerializerMethodField(label=_("owner"))
    matter_title = serializers.CharField(
        source="matter.title",
        default=None,
        allow_null=True,
        label=_("matter title"),
        help_text="Title of the matter the decision is about, or null.",
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "meeting",
            "meeting_date",
            "village",
            "matter",
            "matter_title",
            "decision",
            "owner",
            "owner_name",
            "due_date",
            "status",
            "done_at",
        ]

    def get_owner_name(self, follow_up: FollowUp) -> str:
        return follow_up.owner.get_full_name() or follow_up.owner.get_username()
