using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;

namespace TrustServer.Bench;

/// <summary>Cold GETs and publishes measured on one database size.</summary>
internal sealed record ScaleMeasurement(
    string Database, long Repositories, long TufFiles, long Changes, WrkResult? ColdTimestamp, WrkResult? ColdTargets, PublishResult? Publish, string? PublishPhases);

/// <summary>One query TrustServer ran, as PostgreSQL logged it, and its plan on the big database.</summary>
internal sealed record ScalePlan(string Database, string Label, string Query, string Scans, string Buffers, double? ExecutionMs, bool Suspicious, string File);

/// <summary>The data-at-scale row (issue 19 §5): both database sizes side by side, load times and query plans.</summary>
internal sealed class ScaleResult
{
    public List<ScaleMeasurement> Measurements { get; } = [];

    public List<string> LoadTimes { get; } = [];

    public List<ScalePlan> Plans { get; } = [];

    public List<string> Notes { get; } = [];

    public IEnumerable<TargetCheck> Checks()
    {
        var small = Measurements.FirstOrDefault(m => m.Database == "small");
        var big = Measurements.FirstOrDefault(m => m.Database == "big");
        var cold = new[] { ("timestamp.json", small?.ColdTimestamp, big?.ColdTimestamp), ("targets.json", small?.ColdTargets, big?.ColdTargets) }
            .Where(c => c.Item2 is not null && c.Item3 is not null && c.Item2.P99Ms > 0)
            .Select(c => (Role: c.Item1, Ratio: c.Item3!.P99Ms / c.Item2!.P99Ms, Small: c.Item2.P99Ms, Big: c.Item3.P99Ms))
            .ToList();
        var worst = cold.Count == 0 ? default : cold.MaxBy(c => c.Ratio);
        yield return new TargetCheck(
            "scale: cold GET p99 within 20 % of the small database",
            cold.Count == 0 ? "not measured" : string.Create(CultureInfo.InvariantCulture, $"worst {worst.Role}: {worst.Big:0.00} vs {worst.Small:0.00} ms = {worst.Ratio:0.00}x"),
            cold.Count == 0 ? null : cold.All(c => c.Ratio <= 1.2));
        var publish = small?.Publish is { P50Ms: > 0 } a && big?.Publish is { } b ? (Small: a.P50Ms, Big: b.P50Ms) : ((double Small, double Big)?)null;
        yield return new TargetCheck(
            "scale: publish p50 within 20 % of the small database",
            publish is { } p ? string.Create(CultureInfo.InvariantCulture, $"{p.Big:0.00} vs {p.Small:0.00} ms = {p.Big / p.Small:0.00}x") : "not measured",
            publish is { } q ? q.Big / q.Small <= 1.2 : null);
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine("### Data at scale (TrustServer on PostgreSQL; cold = every GET names a repository not read before in the run)");
        text.AppendLine();
        text.AppendLine("| database | repositories | tuf_files | changefeed | cold timestamp.json req/s | p50 | p99 | cold targets.json req/s | p50 | p99 | 1 publisher /s | p50 | p99 |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var m in Measurements)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {m.Database} | {m.Repositories:N0} | {m.TufFiles:N0} | {m.Changes:N0} | {Get(m.ColdTimestamp)} | {Get(m.ColdTargets)} | {Pub(m.Publish)} |");
        }

        text.AppendLine();
        foreach (var m in Measurements.Where(m => m.PublishPhases is not null))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- Publish phases on the {m.Database} database (mean ms): {m.PublishPhases}.");
        }

        foreach (var line in LoadTimes.Concat(Notes))
        {
            text.AppendLine("- " + line);
        }

        if (Plans.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("#### Query plans (EXPLAIN (ANALYZE, BUFFERS) of the SQL PostgreSQL logged, reads on a repository nothing read before; files in explain/)");
            text.AppendLine();
            text.AppendLine("| query | scans on the big database | buffers small | buffers big | ms small | ms big | verdict |");
            text.AppendLine("|---|---|---|---|---:|---:|---|");
            foreach (var plan in Plans.Where(p => p.Database == "big"))
            {
                var small = Plans.FirstOrDefault(p => p.Database == "small" && p.Label == plan.Label);
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {plan.Query.Replace("|", "/", StringComparison.Ordinal)} | {plan.Scans} | {small?.Buffers ?? "–"} | {plan.Buffers} | {Ms(small?.ExecutionMs)} | {Ms(plan.ExecutionMs)} "
                    + $"| {(plan.Suspicious || small?.Suspicious == true ? "**check**" : "ok")} ({plan.File}) |");
            }
        }

        return text.ToString();
    }

    private static string Ms(double? ms) => ms?.ToString("0.000", CultureInfo.InvariantCulture) ?? "–";

    private static string Get(WrkResult? r) => r is null
        ? "– | – | –"
        : string.Create(CultureInfo.InvariantCulture, $"{r.RequestsPerSecond:N0}{(r.NonSuccessResponses > 0 || r.SocketErrors > 0 ? " (!)" : string.Empty)} | {r.P50Ms:0.00} | {r.P99Ms:0.00}");

    private static string Pub(PublishResult? r) => r is null
        ? "– | – | –"
        : string.Create(CultureInfo.InvariantCulture, $"{r.PublishesPerSecond:N1}{(r.Failed > 0 ? $" ({r.Failed} failed)" : string.Empty)} | {r.P50Ms:0.00} | {r.P99Ms:0.00}");
}

/// <summary>
/// <c>--only scale</c> (issue 19 §5). Against the usual stack, on TrustServer only: a template repository is published
/// the way the publish rows do it (real signatures; the server signs its timestamps), then copied in SQL
/// (<c>INSERT … SELECT</c> over <c>generate_series</c>) under new GUNs, its <c>tuf_files</c> and <c>changefeed</c>
/// rows alike, to a small database first and then to <c>--scale-repos</c> repositories and at least
/// <c>--scale-files</c> files; <c>VACUUM ANALYZE</c> after each load. On each size: cold GETs (a wrk script walks
/// GUNs no request of the run named before, in a scattered order, one disjoint range per row, and stops after a fixed
/// number, the same on both sizes) and the 1-publisher row. Then, with <c>log_min_duration_statement = 0</c> for a
/// few requests, one publish and a changefeed poll, every statement TrustServer ran is taken from PostgreSQL's log
/// and run again under <c>EXPLAIN (ANALYZE, BUFFERS)</c> on the big database (with a cold GUN for the reads).
/// </summary>
internal static partial class ScaleBench
{
    private const string GunPrefix = "bench.example.com/scale/r";
    private const string TemplateGun = "bench.example.com/scale/template";
    private const int LoadChunk = 10_000;

    // Each wrk thread walks indices id, id + threads, … of one range, scattered by a stride coprime with the range's
    // size (so every index is distinct), and stops after its quota of responses, leaving a file <done>id behind (wrk
    // itself runs to its duration: the bench interrupts it once every thread is done). The few requests sent after the
    // quota while the thread stops also go to distinct, unread repositories (the range has room for them).
    private const string ColdScript = """
        local counter = 0
        function setup(thread)
          thread:set("id", counter)
          counter = counter + 1
        end
        function init(args)
          prefix = args[1]; suffix = args[2]
          first = tonumber(args[3]); span = tonumber(args[4]); stride = tonumber(args[5])
          quota = tonumber(args[6]); threads = tonumber(args[7]); done_file = args[8] .. id
          i = id; received = 0
        end
        function request()
          local n = first + (i * stride) % span
          i = i + threads
          return wrk.format("GET", prefix .. string.format("%07d", n) .. suffix)
        end
        function response(status, headers, body)
          received = received + 1
          if received == quota then
            local f = io.open(done_file, "w")
            f:close()
            wrk.thread:stop()
          end
        end
        """;

    public static async Task RunAsync(
        BenchOptions options, BenchStack stack, CpuMonitor cpu, Report report, string resultsDirectory, string rawDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        if (Wrk.FindExecutable() is null)
        {
            throw new InvalidOperationException("wrk is not installed: `apt-get install -y wrk` (bench/run.sh does this).");
        }

        var small = options.ScaleSmallRepositories;
        var big = options.ScaleRepositories;
        var connections = options.Connections[0];
        if (small * 2L > big)
        {
            throw new ArgumentException($"--scale-small-repos ({small}) must be at most half of --scale-repos ({big}).");
        }

        // Same number of cold requests per row on both sizes; each range has room for the requests sent while stopping.
        // The first and the last repository of each load are left for the query plans (ExplainAsync).
        var quotaPerThread = ((small - 2) / 2 - connections - options.Threads) / options.Threads;
        if (quotaPerThread < 10)
        {
            throw new ArgumentException($"--scale-small-repos ({small}) is too small for {connections} connections.");
        }

        var result = new ScaleResult();
        report.Scale = result;
        var total = Stopwatch.StartNew();
        await using var data = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(stack.MetadataConnectionString) { CommandTimeout = 0 }.ConnectionString);

        // The template: a repository published as the publish rows do (init, then updates: targets + snapshot, and the
        // timestamp the server signs), with as many files as each copy should have.
        var filesPerRepository = Math.Max(4, (int)Math.Ceiling((double)options.ScaleFiles / big));
        var updates = (filesPerRepository - 4 + 2) / 3;
        progress($"scale: publishing the template {TemplateGun} (init + {updates} updates = {4 + 3 * updates} files)");
        // The first key creation goes to a signer that may still be starting (JIT) on a busy machine: a few tries.
        PreparedRepository? template = null;
        for (var attempt = 1; template is null; attempt++)
        {
            try
            {
                template = await Publishing.PrepareAsync(stack.Http, stack.TrustServer.Url, TemplateGun, updates, cancellationToken);
            }
            catch (HttpRequestException ex) when (attempt < 3)
            {
                progress($"scale: preparing the template failed ({ex.Message}); trying again");
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            }
        }

        await Publishing.InitializeAsync(stack.Http, stack.TrustServer.Url, [template], cancellationToken);
        var templatePublishes = await Publishing.RunAsync(stack.Http, stack.TrustServer.Url, [template], TimeSpan.FromMinutes(5), cancellationToken);
        if (templatePublishes.Failed > 0)
        {
            throw new InvalidOperationException($"scale: the template's updates failed: {templatePublishes.FirstError}");
        }

        result.Notes.Add($"Every loaded repository is a copy of {TemplateGun}: {4 + 3 * updates} tuf_files rows (root, targets and snapshot signed like the publish rows', "
            + $"expiring in 3-10 years; timestamps signed by the server, 14 days) and {1 + updates} changefeed rows.");

        // --- small database ---
        await LoadAsync(data, 1, small, result, "small", progress, cancellationToken);
        await SettleAsync(stack, cpu, result, "small", progress, cancellationToken);
        result.Measurements.Add(await MeasureAsync(options, stack, data, "small", 2, small - 1, quotaPerThread, connections, rawDirectory, progress, cancellationToken));
        await ExplainSafelyAsync(stack, data, "small", 1, small, resultsDirectory, result, progress, cancellationToken);

        // --- big database ---
        await LoadAsync(data, small + 1, big, result, "big", progress, cancellationToken);
        await SettleAsync(stack, cpu, result, "big", progress, cancellationToken);
        result.Measurements.Add(await MeasureAsync(options, stack, data, "big", small + 2, big - 1, quotaPerThread, connections, rawDirectory, progress, cancellationToken));

        await ExplainSafelyAsync(stack, data, "big", small + 1, big, resultsDirectory, result, progress, cancellationToken);
        result.LoadTimes.Add($"Whole scale row (template, both loads, settling, measurements, plans): {total.Elapsed.TotalMinutes:0.0} min.");
        progress($"scale: done in {total.Elapsed.TotalMinutes:0.0} min");
    }

    // The measurements stay in the report when the plans cannot be had.
    private static async Task ExplainSafelyAsync(
        BenchStack stack, NpgsqlDataSource data, string name, int coldRepository, int captureRepository, string resultsDirectory, ScaleResult result, Action<string> progress, CancellationToken cancellationToken)
    {
        try
        {
            await ExplainAsync(stack, data, name, coldRepository, captureRepository, resultsDirectory, result, progress, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or HttpRequestException or InvalidOperationException)
        {
            result.Notes.Add($"Query plans of the {name} database not captured: {ex.Message}");
            progress("scale: query plans not captured: " + ex);
        }
    }

    private static string Gun(long n) => GunPrefix + n.ToString("D7", CultureInfo.InvariantCulture);

    /// <summary>
    /// One batch of two statements copying the template repository's <c>tuf_files</c> and <c>changefeed</c> rows to
    /// the repositories <paramref name="gunPrefix"/> + first..last (seven digits); also the discovery row's loader.
    /// </summary>
    internal static NpgsqlBatch CopyTemplateBatch(NpgsqlDataSource data, string templateGun, string gunPrefix, int first, int last)
    {
        var batch = data.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            INSERT INTO tuf_files (created_at, gun, role, version, data, sha256)
            SELECT t.created_at, $1 || lpad(g::text, 7, '0'), t.role, t.version, t.data, t.sha256
            FROM generate_series($2::int, $3::int) AS g
            CROSS JOIN (SELECT created_at, role, version, data, sha256 FROM tuf_files WHERE gun = $4 ORDER BY id) AS t
            """) { Parameters = { new() { Value = gunPrefix }, new() { Value = first }, new() { Value = last }, new() { Value = templateGun } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            INSERT INTO changefeed (created_at, gun, version, sha256, category)
            SELECT c.created_at, $1 || lpad(g::text, 7, '0'), c.version, c.sha256, c.category
            FROM generate_series($2::int, $3::int) AS g
            CROSS JOIN (SELECT created_at, version, sha256, category FROM changefeed WHERE gun = $4 ORDER BY id) AS c
            """) { Parameters = { new() { Value = gunPrefix }, new() { Value = first }, new() { Value = last }, new() { Value = templateGun } } });
        return batch;
    }

    // Copies the template to repositories first..last (tuf_files, changefeed) in chunks, then VACUUM ANALYZE.
    private static async Task LoadAsync(NpgsqlDataSource data, int first, int last, ScaleResult result, string name, Action<string> progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long files = 0, changes = 0;
        for (var from = first; from <= last; from += LoadChunk)
        {
            var to = Math.Min(last, from + LoadChunk - 1);
            await using var batch = CopyTemplateBatch(data, TemplateGun, GunPrefix, from, to);
            await batch.ExecuteNonQueryAsync(cancellationToken);
            files += batch.BatchCommands[0].RecordsAffected;
            changes += batch.BatchCommands[1].RecordsAffected;
            progress($"scale: {name} load: repositories up to {Gun(to)} ({files:N0} tuf_files, {changes:N0} changefeed rows in {clock.Elapsed.TotalSeconds:0} s)");
        }

        var insert = clock.Elapsed;
        await using (var vacuum = data.CreateCommand("VACUUM ANALYZE tuf_files"))
        {
            await vacuum.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var vacuum = data.CreateCommand("VACUUM ANALYZE changefeed"))
        {
            await vacuum.ExecuteNonQueryAsync(cancellationToken);
        }

        var size = await ScalarAsync<string>(data, "SELECT pg_size_pretty(pg_total_relation_size('tuf_files'))", cancellationToken);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"Load to the {name} database: {last - first + 1:N0} repositories, {files:N0} tuf_files and {changes:N0} changefeed rows inserted in {insert.TotalSeconds:0.0} s "
            + $"({files / Math.Max(insert.TotalSeconds, 0.001):N0} rows/s), VACUUM ANALYZE {(clock.Elapsed - insert).TotalSeconds:0.0} s; tuf_files now {size} with indexes.");
        result.LoadTimes.Add(line);
        progress("scale: " + line);
    }

    // The background re-signer discovers every loaded repository from the changefeed and reads its chain once; the
    // measurements start when the server is idle again (at most 30 minutes), and the report says how long that took.
    private static async Task SettleAsync(BenchStack stack, CpuMonitor cpu, ScaleResult result, string name, Action<string> progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var pid = stack.TrustServer.Process.Pid;
        double busy;
        do
        {
            var before = cpu.Take(pid, null);
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            busy = CpuMonitor.Diff(before, cpu.Take(pid, null)).Target;
            progress($"scale: waiting for the server to settle after the {name} load (re-signer discovery): server cpu {busy:0} %");
        }
        while (busy > 10 && clock.Elapsed < TimeSpan.FromMinutes(30));

        var line = string.Create(CultureInfo.InvariantCulture,
            $"After the {name} load the server was busy (background re-signer discovering the new repositories) for {clock.Elapsed.TotalSeconds:0} s; measured once below 10 % of a core.");
        result.LoadTimes.Add(line);
        progress("scale: " + line);
    }

    private static async Task<ScaleMeasurement> MeasureAsync(
        BenchOptions options, BenchStack stack, NpgsqlDataSource data, string name, int first, int last, int quotaPerThread, int connections,
        string rawDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        var url = stack.TrustServer.Url;
        var half = (last - first + 1) / 2;
        var cold = new Dictionary<string, WrkResult>();
        foreach (var (role, rangeFirst) in new[] { ("timestamp", first), ("targets", first + half) })
        {
            if (options.WarmupSeconds > 0)
            {
                // The code path warm (JIT, connection pools) on the template, which is cached: not a cold read.
                await Wrk.RunAsync($"{url}/v2/{TemplateGun}/_trust/tuf/{role}.json", options.Threads, connections, options.WarmupSeconds,
                    Path.Combine(rawDirectory, $"scale-{name}-warmup-{role}.txt"), cancellationToken);
            }

            var stride = Stride(half);
            var done = Path.Combine(rawDirectory, $"scale-{name}-cold-{role}.done");
            Directory.CreateDirectory(done);
            var wrk = await Wrk.RunAsync(
                url + "/", options.Threads, connections, 300, Path.Combine(rawDirectory, $"scale-{name}-cold-{role}.txt"), cancellationToken,
                requestScript: ColdScript,
                scriptArguments: ["/v2/" + GunPrefix, $"/_trust/tuf/{role}.json", I(rangeFirst), I(half), I(stride), I(quotaPerThread), I(options.Threads), done + "/thread-"],
                interruptWhen: () => Directory.GetFiles(done).Length >= options.Threads);
            Directory.Delete(done, recursive: true);
            cold[role] = wrk;
            progress(string.Create(CultureInfo.InvariantCulture,
                $"scale: {name} database, cold GET {role}.json c={connections}: {wrk.Requests} requests, {wrk.RequestsPerSecond:N0} req/s, p50 {wrk.P50Ms:0.00} ms, p99 {wrk.P99Ms:0.00} ms")
                + (wrk.NonSuccessResponses > 0 ? $", non-2xx {wrk.NonSuccessResponses}" : string.Empty));
        }

        // The 1-publisher row, as in the publish rows: warm-up on one repository, then the measured one (both new).
        var warmup = await Publishing.PrepareAsync(stack.Http, url, $"bench.example.com/scale/publish-{name}-warmup", options.WarmupPublisherUpdates, cancellationToken);
        var single = await Publishing.PrepareAsync(stack.Http, url, $"bench.example.com/scale/publish-{name}", options.SinglePublisherUpdates, cancellationToken);
        await Publishing.InitializeAsync(stack.Http, url, [warmup, single], cancellationToken);
        using var http = BenchStack.CreateHttpClient(stack.CaFile);
        if (options.WarmupSeconds > 0)
        {
            // At least 10 s: the small database is measured soon after the start, while the JIT still tiers the
            // publish path up (measured first, it came out slower than the big one on a busy machine).
            await Publishing.RunAsync(http, url, [warmup], TimeSpan.FromSeconds(Math.Max(options.WarmupSeconds * 2, 10)), cancellationToken);
        }

        var phasesBefore = await BenchRunner.ScrapeMetricsAsync(stack, null, cancellationToken);
        var publish = await Publishing.RunAsync(http, url, [single], TimeSpan.FromSeconds(options.PublishSeconds), cancellationToken);
        var phases = BenchRunner.PhaseBreakdown(phasesBefore, await BenchRunner.ScrapeMetricsAsync(stack, null, cancellationToken));
        progress(string.Create(CultureInfo.InvariantCulture,
            $"scale: {name} database, 1 publisher: {publish.PublishesPerSecond:N1}/s, p50 {publish.P50Ms:0.00} ms, p99 {publish.P99Ms:0.00} ms ({publish.Accepted} in {publish.Seconds:0.0} s")
            + (publish.Failed > 0 ? $", {publish.Failed} failed: {publish.FirstError}" : string.Empty) + $"); phases {phases}");

        return new ScaleMeasurement(
            name,
            await ScalarAsync<long>(data, "SELECT count(DISTINCT gun) FROM changefeed", cancellationToken),
            await ScalarAsync<long>(data, "SELECT count(*) FROM tuf_files", cancellationToken),
            await ScalarAsync<long>(data, "SELECT count(*) FROM changefeed", cancellationToken),
            cold["timestamp"],
            cold["targets"],
            publish,
            phases);
    }

    // About 0.618 of the range (scatters neighbours far apart), made coprime with it.
    private static long Stride(long span)
    {
        var stride = Math.Max(1, (long)(span * 0.6180339887));
        while (GreatestCommonDivisor(stride, span) != 1)
        {
            stride++;
        }

        return stride;
    }

    private static long GreatestCommonDivisor(long a, long b) => b == 0 ? a : GreatestCommonDivisor(b, a % b);

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource data, string sql, CancellationToken cancellationToken)
    {
        await using var command = data.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
