using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TrustServer.Testing;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Bench;

/// <summary>Server memory after a number of publishes to the growing repository.</summary>
internal sealed record GrowthSample(int Publishes, long TargetsBytes, double Seconds, long? RssKiB, long? ManagedBytes);

/// <summary>One server's growth run: samples every <c>--growth-sample-every</c> publishes, then after idling.</summary>
internal sealed record GrowthRun(string Server, IReadOnlyList<GrowthSample> Samples, long? IdleRssKiB, double IdleSeconds, long Failed, string? FirstError)
{
    /// <summary>The sample at exactly <paramref name="publishes"/> accepted publishes, if the run got there.</summary>
    public GrowthSample? At(int publishes) => Samples.FirstOrDefault(s => s.Publishes == publishes);
}

/// <summary>
/// The memory-growth row (issue 7 §7): one publisher updates one repository N times, and every update adds a
/// target, so <c>targets.json</c> grows from <c>--growth-initial-targets</c> entries by one entry per publish (~250 KB
/// after 1,000 publishes with the defaults, ~1.1 MB after 10,000). Each update is built right before it is sent
/// (pre-building 10,000 of them would take gigabytes): the canonical targets body is kept as bytes and the new
/// entry spliced in (names sort in publish order), so the client costs a copy, two hashes and a signature.
/// </summary>
internal sealed class GrowingRepository : IDisposable
{
    private readonly TufSigningKey _targetsKey;
    private readonly TufSigningKey _snapshotKey;
    private readonly byte[] _root;
    private readonly string _expires;
    private readonly int _padding;
    private readonly MemoryStream _entries = new();
    private int _targets;

    private GrowingRepository(string gun, TufSigningKey targetsKey, TufSigningKey snapshotKey, byte[] root, string expires, int padding)
    {
        Gun = gun;
        _targetsKey = targetsKey;
        _snapshotKey = snapshotKey;
        _root = root;
        _expires = expires;
        _padding = padding;
        Boundary = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(30));
    }

    public string Gun { get; }

    public string Boundary { get; }

    /// <summary>The version the next update publishes (targets and snapshot).</summary>
    public long Version { get; private set; } = 1;

    /// <summary>Size of the last targets file built.</summary>
    public long TargetsBytes { get; private set; }

    /// <summary>Creates the repository's keys and root against <paramref name="baseUrl"/>'s timestamp key.</summary>
    public static async Task<GrowingRepository> CreateAsync(HttpClient http, string baseUrl, string gun, int initialTargets, int padding, CancellationToken cancellationToken)
    {
        var (root, targetsKey, snapshotKey) = await Publishing.CreateRootAsync(http, baseUrl, gun, cancellationToken);
        var repository = new GrowingRepository(gun, targetsKey, snapshotKey, root, TufExpiry.FromInstant(DateTimeOffset.UtcNow.AddYears(3)).Text, padding);
        for (var i = 0; i < initialTargets; i++)
        {
            repository.AddTarget();
        }

        return repository;
    }

    /// <summary><c>notary init --publish</c> (root, targets, snapshot v1) with the initial targets.</summary>
    public byte[] Init()
    {
        var targets = BuildTargets();
        return Publishing.Multipart(Boundary, [("root", _root), ("targets", targets), ("snapshot", BuildSnapshot(targets))]);
    }

    /// <summary>The next update: one more target; targets and snapshot of the next version.</summary>
    public byte[] NextUpdate()
    {
        Version++;
        AddTarget();
        var targets = BuildTargets();
        return Publishing.Multipart(Boundary, [("targets", targets), ("snapshot", BuildSnapshot(targets))]);
    }

    public void Dispose()
    {
        _targetsKey.Dispose();
        _snapshotKey.Dispose();
        _entries.Dispose();
    }

    // "g0000042":{"custom":{"pad":"…"},"hashes":{"sha256":"…"},"length":n} — canonical, appended in name order.
    private void AddTarget()
    {
        var name = "g" + _targets.ToString("D7", CultureInfo.InvariantCulture);
        var content = Encoding.UTF8.GetBytes($"growth target {_targets}\n");
        var meta = new FileMeta(
            content.Length,
            new Dictionary<string, byte[]> { [HashAlgorithmNames.Sha256] = SHA256.HashData(content) },
            _padding > 0 ? new JsonObject().Set("pad", new JsonString(new string('x', _padding))) : null);
        var entry = CanonicalJson.Encode(new JsonObject().Set(name, meta.ToJson()));
        if (_targets > 0)
        {
            _entries.WriteByte((byte)',');
        }

        _entries.Write(entry, 1, entry.Length - 2);
        _targets++;
    }

    private byte[] BuildTargets()
    {
        var head = Encoding.UTF8.GetBytes(
            $"{{\"_type\":\"Targets\",\"delegations\":{{\"keys\":{{}},\"roles\":[]}},\"expires\":\"{_expires}\",\"targets\":{{");
        var tail = Encoding.UTF8.GetBytes($"}},\"version\":{Version.ToString(CultureInfo.InvariantCulture)}}}");
        var canonical = new byte[head.Length + _entries.Length + tail.Length];
        head.CopyTo(canonical, 0);
        _entries.GetBuffer().AsSpan(0, (int)_entries.Length).CopyTo(canonical.AsSpan(head.Length));
        tail.CopyTo(canonical, head.Length + (int)_entries.Length);
        var targets = SignedEnvelope.Assemble(canonical, [new TufSignature(_targetsKey.PublicKey.Id, _targetsKey.Method, _targetsKey.Sign(canonical))]);
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
/// Runs the growth row against one server and samples its memory. Each publish is a client's cycle: GET timestamp,
/// snapshot and targets.json, then the upload, so the read path's cache sees every version as clients would.
/// </summary>
internal static class Growth
{
    private static readonly string[] ClientUpdate = ["timestamp", "snapshot", "targets"];

    public static async Task<GrowthRun> RunAsync(
        BenchOptions options, BenchStack stack, Target target, Action<string> progress, CancellationToken cancellationToken)
    {
        using var http = BenchStack.CreateHttpClient(stack.CaFile);
        using var repository = await GrowingRepository.CreateAsync(
            http, target.Url, "bench.example.com/growth/app", options.GrowthInitialTargets, options.GrowthTargetPadding, cancellationToken);
        var (ok, error) = await Publishing.PostAsync(http, target.Url, repository.Gun, repository.Boundary, repository.Init(), cancellationToken);
        if (!ok)
        {
            throw new InvalidOperationException($"init of {repository.Gun} at {target.Url} failed: {error}");
        }

        var samples = new List<GrowthSample> { await SampleAsync(stack, target, 0, repository.TargetsBytes, 0, cancellationToken) };
        progress($"growth {target.Name,-13} start: targets.json {repository.TargetsBytes / 1024.0:0} KiB, {Describe(samples[0])}");
        long failed = 0;
        string? firstError = null;
        var accepted = 0;
        var clock = Stopwatch.StartNew();
        while (accepted < options.GrowthPublishes && failed < 10)
        {
            // As `notary publish` does: update from the server first (timestamp, snapshot, targets), then upload.
            foreach (var role in ClientUpdate)
            {
                using var response = await http.GetAsync(new Uri($"{target.Url}/v2/{repository.Gun}/_trust/tuf/{role}.json"), cancellationToken);
                await response.Content.CopyToAsync(Stream.Null, cancellationToken);
            }

            var body = repository.NextUpdate();
            (ok, error) = await Publishing.PostAsync(http, target.Url, repository.Gun, repository.Boundary, body, cancellationToken);
            if (!ok)
            {
                // A rejected update leaves the stored version where it was: build the next one on that version.
                failed++;
                firstError ??= error;
                continue;
            }

            accepted++;
            if (accepted % options.GrowthSampleEvery == 0 || accepted == options.GrowthPublishes)
            {
                var sample = await SampleAsync(stack, target, accepted, repository.TargetsBytes, clock.Elapsed.TotalSeconds, cancellationToken);
                samples.Add(sample);
                progress($"growth {target.Name,-13} {accepted,6} publishes in {sample.Seconds,6:0} s: targets.json {sample.TargetsBytes / 1024.0,6:0} KiB, {Describe(sample)}");
            }
        }

        long? idleRss = null;
        if (options.GrowthIdleSeconds > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(options.GrowthIdleSeconds), cancellationToken);
            idleRss = target.Process.ReadMemory()?.RssKiB;
            progress($"growth {target.Name,-13} after {options.GrowthIdleSeconds:0} s idle: RSS {Mib(idleRss)} MiB");
        }

        return new GrowthRun(target.Name, samples, idleRss, options.GrowthIdleSeconds, failed, firstError);
    }

    private static async Task<GrowthSample> SampleAsync(BenchStack stack, Target target, int publishes, long targetsBytes, double seconds, CancellationToken cancellationToken)
    {
        double? managed = null;
        if (target == stack.TrustServer)
        {
            var metrics = await BenchRunner.ScrapeMetricsAsync(stack, null, cancellationToken);
            managed = metrics.TryGetValue("dotnet_total_memory_bytes", out var value) ? value : null;
        }

        return new GrowthSample(publishes, targetsBytes, seconds, target.Process.ReadMemory()?.RssKiB, (long?)managed);
    }

    private static string Describe(GrowthSample sample) =>
        $"RSS {Mib(sample.RssKiB)} MiB" + (sample.ManagedBytes is { } managed ? $", managed heap {managed / 1048576.0:0.0} MiB" : string.Empty);

    private static string Mib(long? kib) => kib is null ? "–" : (kib.Value / 1024.0).ToString("0.0", CultureInfo.InvariantCulture);
}
