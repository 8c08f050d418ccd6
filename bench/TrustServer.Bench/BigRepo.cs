using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Bench;

/// <summary>
/// A repository of a fixed number of targets whose every update changes the content of one of them, round robin
/// (targets and snapshot of the next version, signed by this tool; the timestamp is the server's). Targets are
/// "t0000042" with a sha256 hash, as the growth row writes them (~95 B each: 2,000 targets ~190 KB); the canonical
/// entries are kept as bytes and joined per update.
/// </summary>
internal sealed class FixedSizeRepository : IDisposable
{
    private readonly TufSigningKey _targetsKey;
    private readonly TufSigningKey _snapshotKey;
    private readonly byte[] _root;
    private readonly string _expires;
    private readonly byte[][] _entries;

    private FixedSizeRepository(TufSigningKey targetsKey, TufSigningKey snapshotKey, byte[] root, int targets)
    {
        _targetsKey = targetsKey;
        _snapshotKey = snapshotKey;
        _root = root;
        _expires = TufExpiry.FromInstant(DateTimeOffset.UtcNow.AddYears(3)).Text;
        _entries = [.. Enumerable.Range(0, targets).Select(i => Entry(i, 0))];
        Boundary = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(30));
    }

    public string Boundary { get; }

    /// <summary>The version of the last targets and snapshot built.</summary>
    public long Version { get; private set; } = 1;

    /// <summary>Size of the last targets file built.</summary>
    public long TargetsBytes { get; private set; }

    public static async Task<FixedSizeRepository> CreateAsync(HttpClient http, string baseUrl, string gun, int targets, CancellationToken cancellationToken)
    {
        var (root, targetsKey, snapshotKey) = await Publishing.CreateRootAsync(http, baseUrl, gun, cancellationToken);
        return new FixedSizeRepository(targetsKey, snapshotKey, root, targets);
    }

    /// <summary><c>notary init --publish</c>: root, targets and snapshot v1.</summary>
    public byte[] Init()
    {
        var targets = BuildTargets();
        return Publishing.Multipart(Boundary, [("root", _root), ("targets", targets), ("snapshot", BuildSnapshot(targets))]);
    }

    /// <summary>The next version: one target's content changed; targets and snapshot.</summary>
    public byte[] NextUpdate()
    {
        Version++;
        var index = (int)((Version - 2) % _entries.Length);
        _entries[index] = Entry(index, Version);
        var targets = BuildTargets();
        return Publishing.Multipart(Boundary, [("targets", targets), ("snapshot", BuildSnapshot(targets))]);
    }

    public void Dispose()
    {
        _targetsKey.Dispose();
        _snapshotKey.Dispose();
    }

    // "t0000042":{"hashes":{"sha256":"…"},"length":n}, canonical; the names sort in index order.
    private static byte[] Entry(int index, long revision)
    {
        var content = Encoding.UTF8.GetBytes($"bigrepo target {index} revision {revision}\n");
        var meta = new FileMeta(content.Length, new Dictionary<string, byte[]> { [HashAlgorithmNames.Sha256] = SHA256.HashData(content) }, null);
        var entry = CanonicalJson.Encode(new JsonObject().Set("t" + index.ToString("D7", CultureInfo.InvariantCulture), meta.ToJson()));
        return entry[1..^1];
    }

    private byte[] BuildTargets()
    {
        var canonical = new List<byte>(_entries.Length * 100);
        canonical.AddRange(Encoding.UTF8.GetBytes($"{{\"_type\":\"Targets\",\"delegations\":{{\"keys\":{{}},\"roles\":[]}},\"expires\":\"{_expires}\",\"targets\":{{"));
        for (var i = 0; i < _entries.Length; i++)
        {
            if (i > 0)
            {
                canonical.Add((byte)',');
            }

            canonical.AddRange(_entries[i]);
        }

        canonical.AddRange(Encoding.UTF8.GetBytes($"}},\"version\":{Version.ToString(CultureInfo.InvariantCulture)}}}"));
        var body = canonical.ToArray();
        var targets = SignedEnvelope.Assemble(body, [new TufSignature(_targetsKey.PublicKey.Id, _targetsKey.Method, _targetsKey.Sign(body))]);
        TargetsBytes = targets.Length;
        return targets;
    }

    private byte[] BuildSnapshot(byte[] targets) =>
        Publishing.Sign(
            new JsonObject()
                .Set("_type", new JsonString("Snapshot"))
                .Set("expires", new JsonString(_expires))
                .Set("meta", new JsonObject().Set("root", FileMeta.Of(_root).ToJson()).Set("targets", FileMeta.Of(targets).ToJson()))
                .Set("version", new JsonNumber(Version)),
            _snapshotKey);
}

/// <summary>
/// TrustServer's mean server-side milliseconds per publish between two /metrics scrapes: the phases of
/// <c>trustserver_publish_phase_seconds</c> (sign is part of validate) and the whole request
/// (<c>trustserver_http_request_duration_seconds{route="UpdateTUF"}</c>, which adds reading the upload).
/// </summary>
internal sealed record PublishPhases(double? Load, double? Validate, double? Sign, double? Commit, double? Request)
{
    /// <summary>load + validate + commit: the publisher's own time, from the stored state to the committed update.</summary>
    public double? Total => Load + Validate + Commit;

    public static PublishPhases Between(Dictionary<string, double> before, Dictionary<string, double> after)
    {
        double? Mean(string name, string label)
        {
            var n = after.GetValueOrDefault($"{name}_count{{{label}}}") - before.GetValueOrDefault($"{name}_count{{{label}}}");
            return n > 0 ? (after.GetValueOrDefault($"{name}_sum{{{label}}}") - before.GetValueOrDefault($"{name}_sum{{{label}}}")) / n * 1000 : null;
        }

        double? Phase(string phase) => Mean("trustserver_publish_phase_seconds", $"phase=\"{phase}\"");
        return new PublishPhases(Phase("load"), Phase("validate"), Phase("sign"), Phase("commit"), Mean("trustserver_http_request_duration_seconds", "route=\"UpdateTUF\""));
    }

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"load {F(Load)}, validate {F(Validate)} (of which sign {F(Sign)}), commit {F(Commit)}; sum {F(Total)}; whole request {F(Request)}");

    internal static string F(double? ms) => ms?.ToString("0.00", CultureInfo.InvariantCulture) ?? "–";
}

/// <summary>One big-repository row: consecutive updates by one publisher to a repository of <c>Targets</c> targets.</summary>
internal sealed record BigRepoRow(string Name, int Targets, long TargetsBytes, PublishResult? TrustServer, PublishPhases? Phases, PublishResult? Reference);

/// <summary>
/// The big-repository rows (issue 19 target 4): one publisher, consecutive updates, each changing one target (new
/// targets and snapshot signed by this tool, the timestamp by the server), to a repository of 3 targets and to one of
/// <c>--bigrepo-targets</c> (default 2,000: targets.json ~190 KB), on TrustServer and on notary-server. Uploads are
/// built before timing (<see cref="FixedSizeRepository"/>); a few unrecorded updates warm each repository up first.
/// </summary>
internal static class BigRepoBench
{
    private const int WarmupUpdates = 20;

    public static async Task RunAsync(BenchOptions options, BenchStack stack, CpuMonitor cpu, Report report, Action<string> progress, CancellationToken cancellationToken)
    {
        var limit = TimeSpan.FromSeconds(options.PublishSeconds);
        foreach (var size in new[] { 3, options.BigRepoTargets })
        {
            // Enough prepared updates for the time limit on the small repository; the big one's uploads are about
            // targets.json each, so fewer are kept in memory (the run stops when they are used up).
            var updates = size <= 3 ? options.SinglePublisherUpdates : options.Quick ? 300 : 800;
            var name = $"1 publisher, {size:N0} targets";
            PublishResult? ours = null, reference = null;
            PublishPhases? phases = null;
            long targetsBytes = 0;
            foreach (var target in new[] { stack.TrustServer, stack.Reference })
            {
                if (target == stack.Reference && await stack.RestartReferenceIfExitedAsync(cancellationToken) is { } reason)
                {
                    report.Notes.Add($"notary-server had died before the big-repository row '{name}' ({reason}); restarted on the same database.");
                }

                using var http = BenchStack.CreateHttpClient(stack.CaFile);
                var (warmup, measured, bytes) = await PrepareAsync(http, target.Url, $"bench.example.com/bigrepo/targets-{size}", size, updates, cancellationToken);
                targetsBytes = bytes;
                await Publishing.InitializeAsync(http, target.Url, [warmup], cancellationToken);
                await Publishing.RunAsync(http, target.Url, [warmup], TimeSpan.FromMinutes(1), cancellationToken);

                var metricsBefore = target == stack.TrustServer ? await BenchRunner.ScrapeMetricsAsync(stack, null, cancellationToken) : null;
                var signer = target == stack.TrustServer ? stack.TrustServerSigner.Pid : stack.ReferenceSigner.Pid;
                var before = cpu.Take(target.Process.Pid, signer);
                var result = await Publishing.RunAsync(http, target.Url, [measured], limit, cancellationToken);
                result = result with { Cpu = CpuMonitor.Diff(before, cpu.Take(target.Process.Pid, signer)) };
                progress($"bigrepo {name,-28} {target.Name,-13} {result.PublishesPerSecond,8:N1}/s  p50 {result.P50Ms,7:0.0} ms  p99 {result.P99Ms,7:0.0} ms  ({result.Accepted} in {result.Seconds:0.0} s"
                    + (result.Failed > 0 ? $", {result.Failed} failed: {result.FirstError}" : string.Empty) + $"; targets.json {bytes / 1024.0:0} KiB)  cpu% {result.Cpu?.Compact}");
                if (metricsBefore is not null)
                {
                    ours = result;
                    phases = PublishPhases.Between(metricsBefore, await BenchRunner.ScrapeMetricsAsync(stack, null, cancellationToken));
                    progress($"bigrepo phases, {size:N0} targets (mean ms): {phases}");
                }
                else
                {
                    reference = result;
                }
            }

            report.BigRepo.Add(new BigRepoRow(name, size, targetsBytes, ours, phases, reference));
        }
    }

    /// <summary>
    /// The repository's init plus the unrecorded warm-up updates, the measured updates (same repository, the versions
    /// that follow), and the size of the last targets.json built.
    /// </summary>
    private static async Task<(PreparedRepository Warmup, PreparedRepository Measured, long TargetsBytes)> PrepareAsync(
        HttpClient http, string baseUrl, string gun, int targets, int updates, CancellationToken cancellationToken)
    {
        using var repository = await FixedSizeRepository.CreateAsync(http, baseUrl, gun, targets, cancellationToken);
        var init = repository.Init();
        var warmup = Enumerable.Range(0, WarmupUpdates).Select(_ => repository.NextUpdate()).ToList();
        var measured = Enumerable.Range(0, updates).Select(_ => repository.NextUpdate()).ToList();
        return (new PreparedRepository(gun, init, warmup, repository.Boundary), new PreparedRepository(gun, init, measured, repository.Boundary), repository.TargetsBytes);
    }

    /// <summary>The target checks of the big-repository rows (issue 19 target 4).</summary>
    public static IEnumerable<TargetCheck> Checks(IReadOnlyList<BigRepoRow> rows)
    {
        if (rows.Count < 2)
        {
            yield break;
        }

        var (small, big) = (rows.MinBy(r => r.Targets)!, rows.MaxBy(r => r.Targets)!);
        var ratio = big.Phases?.Total / small.Phases?.Total;
        yield return new TargetCheck(
            $"TrustServer server-side ms per publish (load+validate+commit), {big.Targets:N0} targets <= 2x {small.Targets:N0} targets",
            ratio is null ? "not measured" : $"{PublishPhases.F(big.Phases!.Total)} vs {PublishPhases.F(small.Phases!.Total)} ms = {ratio:F2}x (whole request {PublishPhases.F(big.Phases.Request)} vs {PublishPhases.F(small.Phases.Request)} ms)",
            ratio is null ? null : ratio <= 2 && big.TrustServer!.Failed == 0);
        var p50 = big.TrustServer is null || big.Reference is null ? (double?)null : big.TrustServer.P50Ms / big.Reference.P50Ms;
        yield return new TargetCheck(
            $"TrustServer < notary-server, client-observed p50 per publish, {big.Targets:N0} targets",
            p50 is null ? "not measured" : string.Create(CultureInfo.InvariantCulture, $"{big.TrustServer!.P50Ms:0.0} vs {big.Reference!.P50Ms:0.0} ms = {p50:F2}x ref"),
            p50 is null ? null : p50 < 1 && big.TrustServer!.Failed == 0);
    }

    /// <summary>The report section.</summary>
    public static void AppendMarkdown(StringBuilder text, IReadOnlyList<BigRepoRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("### Big repositories: one publisher, consecutive updates changing one target each (latency in ms, client-observed, keep-alive)");
        text.AppendLine();
        text.AppendLine("| repository | targets.json KiB | TrustServer publishes/s | p50 | p99 | server-side load / validate (sign) / commit = sum; whole request | notary-server publishes/s | p50 | p99 |");
        text.AppendLine("|---|---:|---:|---:|---:|---|---:|---:|---:|");
        foreach (var row in rows)
        {
            var phases = row.Phases is { } p
                ? $"{PublishPhases.F(p.Load)} / {PublishPhases.F(p.Validate)} ({PublishPhases.F(p.Sign)}) / {PublishPhases.F(p.Commit)} = {PublishPhases.F(p.Total)}; {PublishPhases.F(p.Request)}"
                : "–";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Name} | {row.TargetsBytes / 1024.0:0} | {Rate(row.TrustServer)} | {Ms(row.TrustServer?.P50Ms)} | {Ms(row.TrustServer?.P99Ms)} | {phases} | {Rate(row.Reference)} | {Ms(row.Reference?.P50Ms)} | {Ms(row.Reference?.P99Ms)} |");
        }
    }

    private static string Rate(PublishResult? result) =>
        result is null ? "–" : result.PublishesPerSecond.ToString("N1", CultureInfo.InvariantCulture) + (result.Failed > 0 ? $" ({result.Failed} failed)" : string.Empty);

    private static string Ms(double? value) => value is null || double.IsNaN(value.Value) ? "–" : value.Value.ToString("0.0", CultureInfo.InvariantCulture);
}
