package bench

// ClassifierMetric is the selector's classifier duration histogram (sum and
// count of successful classifications) scraped from an EPP.
const ClassifierMetric = "semantic_epp_selector_classifier_duration_seconds"
