using System.Text.RegularExpressions;
using TrustServer.Deploy.Tests.Support;

namespace TrustServer.Deploy.Tests;

/// <summary>
/// The sample alert rules (deploy/prometheus/trustserver-alerts.yml and its PrometheusRule twin) parse, agree, and
/// name only metrics and label values the server exports.
/// </summary>
public sealed partial class AlertRuleTests
{
    private const string RuleFile = "deploy/prometheus/trustserver-alerts.yml";
    private const string PrometheusRule = "deploy/k8s/monitoring/prometheusrule.yaml";
    private const string MetricsSource = "src/TrustServer.Server/Observability/TrustServerMetrics.cs";

    [Fact]
    public void RuleFile_Parses_EveryRuleHasAlertExprSeverityAndSummary()
    {
        var rules = RulesOf(Yaml.Load(RuleFile));
        Assert.True(rules.Count >= 6, $"{RuleFile}: {rules.Count} rules");
        foreach (var rule in rules)
        {
            var alert = rule.Str("alert");
            Assert.False(string.IsNullOrEmpty(alert), $"{RuleFile}: a rule without alert");
            Assert.False(string.IsNullOrEmpty(rule.Str("expr")), $"{alert}: no expr");
            Assert.Contains(rule.Map("labels").Str("severity"), new[] { "warning", "critical" });
            Assert.False(string.IsNullOrEmpty(rule.Map("annotations").Str("summary")), $"{alert}: no summary");
        }

        Assert.Equal(rules.Count, rules.Select(r => r.Str("alert")).Distinct().Count());
    }

    [Fact]
    public void PrometheusRule_HasTheRuleFilesGroups()
    {
        var document = Yaml.LoadAll(PrometheusRule).Single();
        Assert.Equal("monitoring.coreos.com/v1", document.Str("apiVersion"));
        Assert.Equal("PrometheusRule", document.Str("kind"));
        Assert.Equal(
            RulesOf(Yaml.Load(RuleFile)).Select(Describe),
            RulesOf(document.Map("spec")).Select(Describe));

        var kustomization = Yaml.Load("deploy/k8s/monitoring/kustomization.yaml");
        Assert.Equal(["prometheusrule.yaml"], kustomization.List("resources").OfType<string>());
    }

    [Fact]
    public void Rules_NameOnlyExportedMetricsAndLabelValues()
    {
        var source = Repo.Read(MetricsSource);
        var exported = ExportedMetric().Matches(source).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("trustserver_repositories_expiring", exported);

        var named = new List<string>();
        foreach (var rule in RulesOf(Yaml.Load(RuleFile)))
        {
            foreach (Match metric in MetricInExpr().Matches(rule.Str("expr")!))
            {
                named.Add(metric.Value);
                Assert.True(exported.Contains(metric.Value), $"{rule.Str("alert")}: {metric.Value} is not in {MetricsSource}");
            }
        }

        // Every expiry gauge and re-signer metric the issue asks alerts for is used.
        foreach (var metric in new[] { "trustserver_repositories_expiring", "trustserver_resigner_repositories_total", "trustserver_resigner_repositories_at_risk", "trustserver_resigner_earliest_expiry_seconds" })
        {
            Assert.Contains(metric, named);
        }

        // The role and within values of the expiry rules are those the scanner sets.
        var scanner = Repo.Read("src/TrustServer.Server/Expiry/ExpiryScanner.cs");
        foreach (var rule in RulesOf(Yaml.Load(RuleFile)))
        {
            foreach (Match label in LabelMatcher().Matches(rule.Str("expr")!))
            {
                foreach (var value in label.Groups[2].Value.Split('|'))
                {
                    var known = label.Groups[1].Value == "role"
                        ? value is "root" or "targets" or "snapshot" or "timestamp" or "delegation"
                        : scanner.Contains($"\"{value}\"", StringComparison.Ordinal);
                    Assert.True(known, $"{rule.Str("alert")}: {label.Value} names a value the server never sets");
                }
            }
        }
    }

    private static List<Dictionary<string, object?>> RulesOf(Dictionary<string, object?>? groupsParent) =>
        [.. groupsParent.List("groups").Maps().SelectMany(g => g.List("rules").Maps())];

    private static string Describe(Dictionary<string, object?> rule) =>
        $"{rule.Str("alert")}|{rule.Str("expr")}|{rule.Str("for")}|{rule.Map("labels").Str("severity")}|{rule.Map("annotations").Str("summary")}";

    [GeneratedRegex("\"(trustserver_[a-z0-9_]+)\"")]
    private static partial Regex ExportedMetric();

    [GeneratedRegex("trustserver_[a-z0-9_]+")]
    private static partial Regex MetricInExpr();

    [GeneratedRegex("(role|within)=~?\"([^\"]+)\"")]
    private static partial Regex LabelMatcher();
}
