using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Import;

/// <summary>The state of one repository after an import.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<GunStatus>))]
public enum GunStatus
{
    /// <summary>Written (or unchanged) and its current chain verifies.</summary>
    Ok,

    /// <summary>Written; its chain verifies but someone must act (see the findings).</summary>
    Warning,

    /// <summary>Written, but its current chain does not verify or the signer lacks its server-managed keys.</summary>
    Broken,

    /// <summary>Not written: unusable rows or conflicts with the destination; the destination is as it was.</summary>
    Failed,

    /// <summary>Only changefeed records: the repository was deleted on the source (and not re-created).</summary>
    Deleted,
}

/// <summary>A finding of the verification, as reported.</summary>
public sealed record ReportFinding(
    [property: JsonConverter(typeof(JsonStringEnumConverter<FindingSeverity>))] FindingSeverity Severity, string Role, string Message);

/// <summary>Whether the configured signer holds the keys of a server-managed role that the current root lists.</summary>
public sealed record KeyHolding(string Role, IReadOnlyList<string> KeyIds, IReadOnlyList<string> Held, long Threshold);

/// <summary>One repository's lines of the report.</summary>
public sealed class GunReport(string gun)
{
    /// <summary>The GUN.</summary>
    public string Gun { get; } = gun;

    /// <summary>The outcome.</summary>
    public GunStatus Status { get; set; }

    /// <summary>Whether the destination now holds the source's rows (false in a dry run).</summary>
    public bool Written { get; set; }

    /// <summary>Files inserted (or that would be, in a dry run).</summary>
    public int FilesAdded { get; set; }

    /// <summary>Files already stored with the same bytes.</summary>
    public int FilesSkipped { get; set; }

    /// <summary>Files removed because the source deleted the repository since an earlier run.</summary>
    public int FilesRemoved { get; set; }

    /// <summary>Changefeed records inserted with their original ids.</summary>
    public int ChangesAdded { get; set; }

    /// <summary>Changefeed records already stored.</summary>
    public int ChangesSkipped { get; set; }

    /// <summary>Rows of the source that could not be used.</summary>
    public List<RowProblem> Problems { get; } = [];

    /// <summary>Rows that conflict with the destination.</summary>
    public List<string> Conflicts { get; } = [];

    /// <summary>Where the verified chain came from: <c>destination</c> (after writing) or <c>source</c>.</summary>
    public string? VerifiedFrom { get; set; }

    /// <summary>The current files the verification reached.</summary>
    public IReadOnlyList<ChainRole> Chain { get; set; } = [];

    /// <summary>What the verification found.</summary>
    public List<ReportFinding> Findings { get; } = [];

    /// <summary>The signer's holding of the timestamp and snapshot keys of the current root.</summary>
    public List<KeyHolding> Keys { get; } = [];
}

/// <summary>The whole report of one import run (printed as a summary, written as JSON with <c>--report</c>).</summary>
public sealed class ImportReport
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The source, without password.</summary>
    public required string Source { get; init; }

    /// <summary>The destination store (provider), or <c>none</c>.</summary>
    public required string Destination { get; init; }

    /// <summary>Whether nothing was written.</summary>
    public bool DryRun { get; init; }

    /// <summary>When the run started (UTC).</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Seconds the run took.</summary>
    public double Seconds { get; set; }

    /// <summary>Source rows processed (files and changefeed records).</summary>
    public long Rows { get; set; }

    /// <summary><see cref="Rows"/> per second.</summary>
    public double RowsPerSecond => Seconds > 0 ? Math.Round(Rows / Seconds, 1) : 0;

    /// <summary>Remarks about the whole source.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>One entry per repository, in GUN order.</summary>
    public List<GunReport> Guns { get; } = [];

    /// <summary>Whether every repository is ok, warning or deleted.</summary>
    public bool Succeeded => Guns.All(g => g.Status is GunStatus.Ok or GunStatus.Warning or GunStatus.Deleted);

    /// <summary>The JSON form.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The human summary: one line per repository that is not ok, then totals.</summary>
    public string ToSummary()
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"{(DryRun ? "Dry run (nothing written)" : "Import")} from {Source} into {Destination}");
        foreach (var note in Notes)
        {
            text.AppendLine(c, $"  note: {note}");
        }

        foreach (var gun in Guns.Where(g => g.Status is not (GunStatus.Ok or GunStatus.Deleted)))
        {
            text.AppendLine(c, $"  {gun.Status.ToString().ToUpperInvariant(),-8} {gun.Gun}");
            foreach (var problem in gun.Problems)
            {
                text.AppendLine(c, $"           row {problem.Row}: {problem.Message}");
            }

            foreach (var conflict in gun.Conflicts)
            {
                text.AppendLine(c, $"           conflict: {conflict}");
            }

            foreach (var finding in gun.Findings.Where(f => f.Severity != FindingSeverity.Info))
            {
                text.AppendLine(c, $"           {finding.Severity.ToString().ToLowerInvariant()}: {finding.Role}: {finding.Message}");
            }
        }

        int Count(GunStatus status) => Guns.Count(g => g.Status == status);
        text.AppendLine(c, $"{Guns.Count} repositories: {Count(GunStatus.Ok)} ok, {Count(GunStatus.Warning)} warning, {Count(GunStatus.Broken)} broken, {Count(GunStatus.Failed)} failed, {Count(GunStatus.Deleted)} deleted");
        text.AppendLine(c, $"files: {Guns.Sum(g => g.FilesAdded)} added, {Guns.Sum(g => g.FilesSkipped)} unchanged, {Guns.Sum(g => g.FilesRemoved)} removed; changefeed: {Guns.Sum(g => g.ChangesAdded)} added, {Guns.Sum(g => g.ChangesSkipped)} unchanged");
        text.Append(c, $"{Rows} rows in {Seconds:0.0} s ({RowsPerSecond:0} rows/s)");
        return text.ToString();
    }
}
