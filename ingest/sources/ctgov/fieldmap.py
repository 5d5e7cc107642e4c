"""Every field of an API v2 study, and where the normalized record keeps it: the one
place that says what is mapped and what is deliberately left out, and why.

Paths are the API's dotted keys without list positions
(``protocolSection.contactsLocationsModule.locations.geoPoint.lat``); record paths
the same for the record (``sites.latitude``: a list on the way is each of its
items). The parser is written for speed and does not read this table; two tests hold
the two together: every field of the OpenAPI specs in ``../shared/corpus/ctgov_v2_spec``
must be here (tests/ingest/test_fieldmap.py), and every value the corpus documents
give at a mapped path must appear at its record path, normalized (the value-coverage
test, which prints its figure).
"""

from __future__ import annotations

_P = "protocolSection."
_ID = _P + "identificationModule."
_ST = _P + "statusModule."
_SP = _P + "sponsorCollaboratorsModule."
_DE = _P + "designModule."
_AR = _P + "armsInterventionsModule."
_OU = _P + "outcomesModule."
_EL = _P + "eligibilityModule."
_CL = _P + "contactsLocationsModule."
_RE = _P + "referencesModule."
_IPD = _P + "ipdSharingStatementModule."
_MISC = "derivedSection.miscInfoModule."
_TRACK = _MISC + "submissionTracking."
_DOC = "documentSection.largeDocumentModule."
_ANN = "annotationSection.annotationModule."


def _browse(module: str, record: str) -> dict[str, str]:
    base = f"derivedSection.{module}."
    return {
        base + "meshes.id": record + ".terms.id", base + "meshes.term": record + ".terms.term",
        base + "ancestors.id": record + ".ancestors.id", base + "ancestors.term": record + ".ancestors.term",
        base + "browseLeaves.id": record + ".leaves.id", base + "browseLeaves.name": record + ".leaves.name",
        base + "browseLeaves.asFound": record + ".leaves.as_found",
        base + "browseLeaves.relevance": record + ".leaves.relevance",
        base + "browseBranches.abbrev": record + ".branches.abbrev",
        base + "browseBranches.name": record + ".branches.name",
    }


def _outcomes(key: str, field: str) -> dict[str, str]:
    return {f"{_OU}{key}.measure": f"outcomes.{field}.measure",
            f"{_OU}{key}.description": f"outcomes.{field}.description",
            f"{_OU}{key}.timeFrame": f"outcomes.{field}.time_frame"}


def _contact(key: str, field: str) -> dict[str, str]:
    return {f"{key}.name": f"{field}.name", f"{key}.role": f"{field}.role",
            f"{key}.phone": f"{field}.phone", f"{key}.phoneExt": f"{field}.phone_ext",
            f"{key}.email": f"{field}.email"}


def _date_struct(key: str, field: str) -> dict[str, str]:
    return {f"{key}.date": f"{field}.date", f"{key}.type": f"{field}.kind"}


# API path -> record path.
MAPPED: dict[str, str] = {
    "hasResults": "has_results",
    # identification
    _ID + "nctId": "registry_id",
    _ID + "nctIdAliases": "identifiers.aliases",
    _ID + "orgStudyIdInfo.id": "identifiers.org_study_id",
    _ID + "orgStudyIdInfo.type": "identifiers.org_study_id_kind",
    _ID + "orgStudyIdInfo.link": "identifiers.org_study_id_link",
    _ID + "secondaryIdInfos.id": "identifiers.secondary.id",
    _ID + "secondaryIdInfos.type": "identifiers.secondary.kind",
    _ID + "secondaryIdInfos.domain": "identifiers.secondary.domain",
    _ID + "secondaryIdInfos.link": "identifiers.secondary.link",
    _ID + "briefTitle": "titles.brief",
    _ID + "officialTitle": "titles.official",
    _ID + "acronym": "titles.acronym",
    _ID + "organization.fullName": "sponsors.organization.name",
    _ID + "organization.class": "sponsors.organization.class",
    # status
    _ST + "statusVerifiedDate": "status.verified.date",
    _ST + "overallStatus": "status.overall",
    _ST + "lastKnownStatus": "status.last_known",
    _ST + "delayedPosting": "status.delayed_posting",
    _ST + "whyStopped": "status.why_stopped",
    _ST + "expandedAccessInfo.hasExpandedAccess": "status.expanded_access.available",
    _ST + "expandedAccessInfo.nctId": "status.expanded_access.registry_id",
    _ST + "expandedAccessInfo.statusForNctId": "status.expanded_access.status",
    **_date_struct(_ST + "startDateStruct", "status.start"),
    **_date_struct(_ST + "primaryCompletionDateStruct", "status.primary_completion"),
    **_date_struct(_ST + "completionDateStruct", "status.completion"),
    _ST + "studyFirstSubmitDate": "status.first_submitted.date",
    _ST + "studyFirstSubmitQcDate": "status.first_submitted_qc.date",
    **_date_struct(_ST + "studyFirstPostDateStruct", "status.first_posted"),
    _ST + "resultsWaived": "status.results_waived",
    _ST + "resultsFirstSubmitDate": "status.results_first_submitted.date",
    _ST + "resultsFirstSubmitQcDate": "status.results_first_submitted_qc.date",
    **_date_struct(_ST + "resultsFirstPostDateStruct", "status.results_first_posted"),
    _ST + "dispFirstSubmitDate": "status.disposition_first_submitted.date",
    _ST + "dispFirstSubmitQcDate": "status.disposition_first_submitted_qc.date",
    **_date_struct(_ST + "dispFirstPostDateStruct", "status.disposition_first_posted"),
    _ST + "lastUpdateSubmitDate": "status.last_update_submitted.date",
    **_date_struct(_ST + "lastUpdatePostDateStruct", "status.last_update_posted"),
    # sponsors
    _SP + "responsibleParty.type": "sponsors.responsible_party.type",
    _SP + "responsibleParty.investigatorFullName": "sponsors.responsible_party.investigator_name",
    _SP + "responsibleParty.investigatorTitle": "sponsors.responsible_party.investigator_title",
    _SP + "responsibleParty.investigatorAffiliation": "sponsors.responsible_party.investigator_affiliation",
    _SP + "responsibleParty.oldNameTitle": "sponsors.responsible_party.old_name_title",
    _SP + "responsibleParty.oldOrganization": "sponsors.responsible_party.old_organization",
    _SP + "leadSponsor.name": "sponsors.lead.name",
    _SP + "leadSponsor.class": "sponsors.lead.class",
    _SP + "collaborators.name": "sponsors.collaborators.name",
    _SP + "collaborators.class": "sponsors.collaborators.class",
    # oversight
    _P + "oversightModule.oversightHasDmc": "oversight.has_dmc",
    _P + "oversightModule.isFdaRegulatedDrug": "oversight.fda_regulated_drug",
    _P + "oversightModule.isFdaRegulatedDevice": "oversight.fda_regulated_device",
    _P + "oversightModule.isUnapprovedDevice": "oversight.unapproved_device",
    _P + "oversightModule.isPpsd": "oversight.ppsd",
    _P + "oversightModule.isUsExport": "oversight.us_export",
    _P + "oversightModule.fdaaa801Violation": "oversight.fdaaa801_violation",
    # description, conditions
    _P + "descriptionModule.briefSummary": "summary",
    _P + "descriptionModule.detailedDescription": "description",
    _P + "conditionsModule.conditions": "conditions",
    _P + "conditionsModule.keywords": "keywords",
    # design
    _DE + "studyType": "study_type",
    _DE + "nPtrsToThisExpAccNctId": "design.expanded_access_referrers",
    # each flag that is true puts its name in the list (see the coverage test)
    _DE + "expandedAccessTypes.individual": "design.expanded_access_types",
    _DE + "expandedAccessTypes.intermediate": "design.expanded_access_types",
    _DE + "expandedAccessTypes.treatment": "design.expanded_access_types",
    _DE + "patientRegistry": "design.patient_registry",
    _DE + "targetDuration": "design.target_duration",
    _DE + "phases": "phases",
    _DE + "designInfo.allocation": "design.allocation",
    _DE + "designInfo.interventionModel": "design.intervention_model",
    _DE + "designInfo.interventionModelDescription": "design.intervention_model_description",
    _DE + "designInfo.primaryPurpose": "design.primary_purpose",
    _DE + "designInfo.observationalModel": "design.observational_model",
    _DE + "designInfo.timePerspective": "design.time_perspective",
    _DE + "designInfo.maskingInfo.masking": "design.masking",
    _DE + "designInfo.maskingInfo.maskingDescription": "design.masking_description",
    _DE + "designInfo.maskingInfo.whoMasked": "design.who_masked",
    _DE + "bioSpec.retention": "design.bio_spec_retention",
    _DE + "bioSpec.description": "design.bio_spec_description",
    _DE + "enrollmentInfo.count": "enrollment.count",
    _DE + "enrollmentInfo.type": "enrollment.kind",
    # arms and interventions
    _AR + "armGroups.label": "arms.label",
    _AR + "armGroups.type": "arms.type",
    _AR + "armGroups.description": "arms.description",
    _AR + "armGroups.interventionNames": "arms.interventions",  # "Type: Name" -> the name
    _AR + "interventions.type": "interventions.type",
    _AR + "interventions.name": "interventions.name",
    _AR + "interventions.description": "interventions.description",
    _AR + "interventions.armGroupLabels": "interventions.arm_labels",
    _AR + "interventions.otherNames": "interventions.other_names",
    # outcomes
    **_outcomes("primaryOutcomes", "primary"),
    **_outcomes("secondaryOutcomes", "secondary"),
    **_outcomes("otherOutcomes", "other"),
    # eligibility
    _EL + "eligibilityCriteria": "eligibility.criteria_text",
    _EL + "healthyVolunteers": "eligibility.healthy_volunteers",
    _EL + "sex": "eligibility.sex",
    _EL + "genderBased": "eligibility.gender_based",
    _EL + "genderDescription": "eligibility.gender_description",
    _EL + "minimumAge": "eligibility.min_age",
    _EL + "maximumAge": "eligibility.max_age",
    _EL + "stdAges": "eligibility.std_ages",
    _EL + "studyPopulation": "eligibility.study_population",
    _EL + "samplingMethod": "eligibility.sampling_method",
    # contacts and locations
    **_contact(_CL + "centralContacts", "contacts.central"),
    _CL + "overallOfficials.name": "contacts.officials.name",
    _CL + "overallOfficials.affiliation": "contacts.officials.affiliation",
    _CL + "overallOfficials.role": "contacts.officials.role",
    _CL + "locations.facility": "sites.facility",
    _CL + "locations.status": "sites.status",
    _CL + "locations.city": "sites.city",
    _CL + "locations.state": "sites.state",
    _CL + "locations.zip": "sites.zip",
    _CL + "locations.country": "sites.country",
    **_contact(_CL + "locations.contacts", "sites.contacts"),
    _CL + "locations.geoPoint.lat": "sites.latitude",
    _CL + "locations.geoPoint.lon": "sites.longitude",
    # references
    _RE + "references.pmid": "references.citations.pmid",
    _RE + "references.type": "references.citations.type",
    _RE + "references.citation": "references.citations.citation",
    _RE + "references.retractions.pmid": "references.citations.retractions.pmid",
    _RE + "references.retractions.source": "references.citations.retractions.source",
    _RE + "seeAlsoLinks.label": "references.links.label",
    _RE + "seeAlsoLinks.url": "references.links.url",
    _RE + "availIpds.id": "references.available_ipds.id",
    _RE + "availIpds.type": "references.available_ipds.type",
    _RE + "availIpds.url": "references.available_ipds.url",
    _RE + "availIpds.comment": "references.available_ipds.comment",
    # IPD sharing
    _IPD + "ipdSharing": "ipd_sharing.sharing",
    _IPD + "description": "ipd_sharing.description",
    _IPD + "infoTypes": "ipd_sharing.info_types",
    _IPD + "timeFrame": "ipd_sharing.time_frame",
    _IPD + "accessCriteria": "ipd_sharing.access_criteria",
    _IPD + "url": "ipd_sharing.url",
    # annotations
    _ANN + "unpostedAnnotation.unpostedResponsibleParty": "annotations.unposted_responsible_party",
    _ANN + "unpostedAnnotation.unpostedEvents.type": "annotations.unposted_events.type",
    _ANN + "unpostedAnnotation.unpostedEvents.date": "annotations.unposted_events.date",
    _ANN + "unpostedAnnotation.unpostedEvents.dateUnknown": "annotations.unposted_events.date_unknown",
    _ANN + "violationAnnotation.violationEvents.type": "annotations.violation_events.type",
    _ANN + "violationAnnotation.violationEvents.description": "annotations.violation_events.description",
    _ANN + "violationAnnotation.violationEvents.creationDate": "annotations.violation_events.created",
    _ANN + "violationAnnotation.violationEvents.issuedDate": "annotations.violation_events.issued",
    _ANN + "violationAnnotation.violationEvents.releaseDate": "annotations.violation_events.released",
    _ANN + "violationAnnotation.violationEvents.postedDate": "annotations.violation_events.posted",
    # documents
    _DOC + "noSap": "documents.no_sap",
    _DOC + "largeDocs.typeAbbrev": "documents.large_docs.type_abbrev",
    _DOC + "largeDocs.hasProtocol": "documents.large_docs.has_protocol",
    _DOC + "largeDocs.hasSap": "documents.large_docs.has_sap",
    _DOC + "largeDocs.hasIcf": "documents.large_docs.has_icf",
    _DOC + "largeDocs.label": "documents.large_docs.label",
    _DOC + "largeDocs.date": "documents.large_docs.date",
    _DOC + "largeDocs.uploadDate": "documents.large_docs.uploaded",
    _DOC + "largeDocs.filename": "documents.large_docs.filename",
    _DOC + "largeDocs.size": "documents.large_docs.size",
    # derived: the registry's tracking data, MeSH indexing
    _MISC + "versionHolder": "registry_info.version_holder",
    _MISC + "removedCountries": "registry_info.removed_countries",
    _TRACK + "estimatedResultsFirstSubmitDate": "registry_info.submission_tracking.estimated_results_first_submitted",
    **_date_struct(_TRACK + "firstMcpInfo.postDateStruct", "registry_info.submission_tracking.first_mcp_posted"),
    _TRACK + "submissionInfos.releaseDate": "registry_info.submission_tracking.submissions.released",
    _TRACK + "submissionInfos.unreleaseDate": "registry_info.submission_tracking.submissions.unreleased",
    _TRACK + "submissionInfos.unreleaseDateUnknown":
        "registry_info.submission_tracking.submissions.unreleased_unknown",
    _TRACK + "submissionInfos.resetDate": "registry_info.submission_tracking.submissions.reset",
    _TRACK + "submissionInfos.mcpReleaseN": "registry_info.submission_tracking.submissions.mcp_release_n",
    **_browse("conditionBrowseModule", "mesh.conditions"),
    **_browse("interventionBrowseModule", "mesh.interventions"),
}


# --- the results section (issue 16) ---------------------------------------------------

_RS = "resultsSection."
_PF = _RS + "participantFlowModule."
_BC = _RS + "baselineCharacteristicsModule."
_OM = _RS + "outcomeMeasuresModule.outcomeMeasures."
_AE = _RS + "adverseEventsModule."
_MI = _RS + "moreInfoModule."


def _groups(key: str, field: str) -> dict[str, str]:
    return {f"{key}.id": f"{field}.id", f"{key}.title": f"{field}.title",
            f"{key}.description": f"{field}.description"}


def _denoms(key: str, field: str) -> dict[str, str]:
    return {f"{key}.units": f"{field}.units", f"{key}.counts.groupId": f"{field}.counts.group",
            f"{key}.counts.value": f"{field}.counts.value"}


def _flow_counts(key: str, field: str) -> dict[str, str]:
    return {f"{key}.groupId": f"{field}.group", f"{key}.numSubjects": f"{field}.subjects",
            f"{key}.numUnits": f"{field}.units", f"{key}.comment": f"{field}.comment"}


def _measure(key: str, field: str) -> dict[str, str]:
    """What a baseline and an outcome measure share: head, denominators, classes."""
    me, rec = key + "classes.categories.measurements.", field + ".classes.categories.measurements."
    return {
        key + "title": field + ".title", key + "description": field + ".description",
        key + "populationDescription": field + ".population_description",
        key + "paramType": field + ".param_type", key + "dispersionType": field + ".dispersion_type",
        key + "unitOfMeasure": field + ".unit", key + "calculatePct": field + ".calculate_pct",
        key + "denomUnitsSelected": field + ".denom_units_selected",
        **_denoms(key + "denoms", field + ".denoms"),
        key + "classes.title": field + ".classes.title",
        **_denoms(key + "classes.denoms", field + ".classes.denoms"),
        key + "classes.categories.title": field + ".classes.categories.title",
        me + "groupId": rec + "group", me + "value": rec + "value", me + "spread": rec + "spread",
        me + "lowerLimit": rec + "lower_limit", me + "upperLimit": rec + "upper_limit",
        me + "comment": rec + "comment",
    }


def _events(key: str, field: str) -> dict[str, str]:
    return {f"{key}.term": f"{field}.term", f"{key}.organSystem": f"{field}.organ_system",
            f"{key}.sourceVocabulary": f"{field}.source_vocabulary",
            f"{key}.assessmentType": f"{field}.assessment_type", f"{key}.notes": f"{field}.notes",
            f"{key}.stats.groupId": f"{field}.stats.group", f"{key}.stats.numEvents": f"{field}.stats.events",
            f"{key}.stats.numAffected": f"{field}.stats.affected",
            f"{key}.stats.numAtRisk": f"{field}.stats.at_risk"}


_ANALYSIS = {  # MeasureAnalysis key -> Analysis key
    "groupIds": "groups", "groupDescription": "group_description",
    "testedNonInferiority": "tested_non_inferiority", "nonInferiorityType": "non_inferiority_type",
    "nonInferiorityComment": "non_inferiority_comment", "pValue": "p_value",
    "pValueComment": "p_value_comment", "statisticalMethod": "statistical_method",
    "statisticalComment": "statistical_comment", "paramType": "param_type", "paramValue": "param_value",
    "dispersionType": "dispersion_type", "dispersionValue": "dispersion_value", "ciPctValue": "ci_pct",
    "ciNumSides": "ci_sides", "ciLowerLimit": "ci_lower_limit", "ciUpperLimit": "ci_upper_limit",
    "ciLowerLimitComment": "ci_lower_limit_comment", "ciUpperLimitComment": "ci_upper_limit_comment",
    "estimateComment": "estimate_comment", "otherAnalysisDescription": "other_analysis_description",
}
_F, _B, _O, _E, _M = ("results.participant_flow", "results.baseline", "results.outcome_measures",
                      "results.adverse_events", "results.more_info")
RESULTS: dict[str, str] = {
    _PF + "recruitmentDetails": _F + ".recruitment_details",
    _PF + "preAssignmentDetails": _F + ".pre_assignment_details",
    _PF + "typeUnitsAnalyzed": _F + ".units_analyzed",
    **_groups(_PF + "groups", _F + ".groups"),
    _PF + "periods.title": _F + ".periods.title",
    _PF + "periods.milestones.type": _F + ".periods.milestones.type",
    _PF + "periods.milestones.comment": _F + ".periods.milestones.comment",
    **_flow_counts(_PF + "periods.milestones.achievements", _F + ".periods.milestones.achievements"),
    _PF + "periods.dropWithdraws.type": _F + ".periods.drop_withdraws.type",
    _PF + "periods.dropWithdraws.comment": _F + ".periods.drop_withdraws.comment",
    **_flow_counts(_PF + "periods.dropWithdraws.reasons", _F + ".periods.drop_withdraws.reasons"),
    _BC + "populationDescription": _B + ".population_description",
    _BC + "typeUnitsAnalyzed": _B + ".units_analyzed",
    **_groups(_BC + "groups", _B + ".groups"),
    **_denoms(_BC + "denoms", _B + ".denoms"),
    **_measure(_BC + "measures.", _B + ".measures"),
    **_measure(_OM, _O),
    _OM + "type": _O + ".type", _OM + "reportingStatus": _O + ".reporting_status",
    _OM + "anticipatedPostingDate": _O + ".anticipated_posting_date", _OM + "timeFrame": _O + ".time_frame",
    _OM + "typeUnitsAnalyzed": _O + ".units_analyzed",
    **_groups(_OM + "groups", _O + ".groups"),
    **{f"{_OM}analyses.{key}": f"{_O}.analyses.{field}" for key, field in _ANALYSIS.items()},
    _AE + "frequencyThreshold": _E + ".frequency_threshold", _AE + "timeFrame": _E + ".time_frame",
    _AE + "description": _E + ".description",
    _AE + "allCauseMortalityComment": _E + ".all_cause_mortality_comment",
    **_groups(_AE + "eventGroups", _E + ".groups"),
    **{f"{_AE}eventGroups.{kind}Num{what}": f"{_E}.groups.{kind}_{field}"
       for kind in ("deaths", "serious", "other") for what, field in (("Affected", "affected"),
                                                                     ("AtRisk", "at_risk"))},
    **_events(_AE + "seriousEvents", _E + ".serious"),
    **_events(_AE + "otherEvents", _E + ".other"),
    _MI + "limitationsAndCaveats.description": _M + ".limitations_and_caveats",
    _MI + "certainAgreement.piSponsorEmployee": _M + ".pi_sponsor_employee",
    _MI + "certainAgreement.restrictiveAgreement": _M + ".restrictive_agreement",
    _MI + "certainAgreement.restrictionType": _M + ".restriction_type",
    _MI + "certainAgreement.otherDetails": _M + ".restriction_details",
    **{f"{_MI}pointOfContact.{key}": f"{_M}.point_of_contact.{field}"
       for key, field in (("title", "title"), ("organization", "organization"), ("email", "email"),
                          ("phone", "phone"), ("phoneExt", "phone_ext"))},
}
MAPPED.update(RESULTS)


# API path (or the path of a whole part) -> why the record does not keep it.
LEFT_OUT: dict[str, str] = {
    _MISC + "modelPredictions": "machine-made predictions (BMI limits read from the criteria) in "
                                "documents of late 2023 and early 2024 (versionHolder up to "
                                "2024-01-03); not registry data, not in either spec",
    _CL + "locations_nested": "a copy of locations the API served beside them in documents of late "
                              "2023 and early 2024 (identical in all 44 corpus documents that "
                              "carry it); not in either spec",
}

# The spec's own name for a field whose leaves it does not list (the metadata endpoint
# gives a site's coordinates as one GeoPoint field; the OpenAPI specs as lat and lon).
SPEC_GROUPS: dict[str, tuple[str, ...]] = {
    _CL + "locations.geoPoint": (_CL + "locations.geoPoint.lat", _CL + "locations.geoPoint.lon"),
}


def left_out(path: str) -> str | None:
    """Why ``path`` (or the part it is in) is not in the record; None when it is mapped
    or unknown."""
    while True:
        if path in LEFT_OUT:
            return LEFT_OUT[path]
        if "." not in path:
            return None
        path = path.rsplit(".", 1)[0]
