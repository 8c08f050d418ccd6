using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace TrustServer.Bench;

/// <summary>The query plans of the scale row: the SQL TrustServer really runs, taken from PostgreSQL's log.</summary>
internal static partial class ScaleBench
{
    // With LogLinePrefix: "2026-12-02 15:30:00.123 UTC [1234] db=x LOG:  duration: 0.050 ms  execute <unnamed>: SELECT …"
    // and its "… [1234] db=x DETAIL:  parameters: $1 = '…', $2 = '…'" (parse and bind are logged too, each with its
    // own DETAIL); continuation lines of a multi-line statement start with a tab.
    private const string LogLinePrefix = "%m [%p] db=%d ";

    [GeneratedRegex(@"^\S+ \S+ \S+ \[(?<pid>\d+)\] db=(?<db>\S*) (?<level>[A-Z]+):  (?<text>.*)$")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"^duration: [\d.]+ ms  (?:execute [^:]*|statement): (?<sql>.*)$", RegexOptions.Singleline)]
    private static partial Regex Executed();

    [GeneratedRegex(@"\$(?<n>\d+) = (?<value>NULL|'(?:[^']|'')*')")]
    private static partial Regex Parameter();

    [GeneratedRegex(@"(?<kind>Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan|Bitmap Index Scan)(?: Backward)?(?: using (?<index>\S+))? on (?<table>\S+)")]
    private static partial Regex ScanNode();

    [GeneratedRegex(@"Buffers: (?<buffers>.*)$", RegexOptions.Multiline)]
    private static partial Regex BuffersLine();

    [GeneratedRegex(@"Execution Time: (?<ms>[\d.]+) ms")]
    private static partial Regex ExecutionTime();

    [GeneratedRegex(@"Sort \(cost=[^)]*\) \(actual time=[^ ]* rows=(?<rows>\d+)")]
    private static partial Regex SortNode();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    private static async Task ExplainAsync(BenchStack stack, NpgsqlDataSource data, string name, int coldRepository, int captureRepository, string resultsDirectory, ScaleResult result, Action<string> progress, CancellationToken cancellationToken)
    {
        var logFile = FindPostgresLog(stack);
        if (logFile is null)
        {
            result.Notes.Add("Query plans not captured: PostgreSQL's log file was not found (only the bench's private cluster has a known log).");
            return;
        }

        // The two repositories of the load that the cold GETs leave out, far apart in the table: the last loaded for
        // the capture, the first for EXPLAIN.
        var (captureGun, coldGun) = (Gun(captureRepository), Gun(coldRepository));

        // A new repository with a few prepared updates for the publish path.
        var publish = await Publishing.PrepareAsync(stack.Http, stack.TrustServer.Url, $"bench.example.com/scale/explain-publish-{name}", 2, cancellationToken);
        var offset = new FileInfo(logFile).Length;
        await ExecuteAsync(data, "ALTER SYSTEM SET log_min_duration_statement = 0", cancellationToken);
        await ExecuteAsync(data, $"ALTER SYSTEM SET log_line_prefix = '{LogLinePrefix}'", cancellationToken);
        await ExecuteAsync(data, "SELECT pg_reload_conf()", cancellationToken);
        try
        {
            await Task.Delay(500, cancellationToken);
            var url = stack.TrustServer.Url;
            foreach (var path in new[] { "timestamp.json", "targets.json", "1.root.json", "snapshot.json" })
            {
                using var response = await stack.Http.GetAsync(new Uri($"{url}/v2/{captureGun}/_trust/tuf/{path}"), cancellationToken);
            }

            await Publishing.InitializeAsync(stack.Http, url, [publish], cancellationToken);
            foreach (var update in publish.Updates)
            {
                await Publishing.PostAsync(stack.Http, url, publish.Gun, publish.Boundary, update, cancellationToken);
            }

            // The cache follower reads the changefeed every 2 s (Caching:Memory:ChangefeedPollSeconds).
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        }
        finally
        {
            await ExecuteAsync(data, "ALTER SYSTEM RESET log_min_duration_statement", CancellationToken.None);
            await ExecuteAsync(data, "ALTER SYSTEM RESET log_line_prefix", CancellationToken.None);
            await ExecuteAsync(data, "SELECT pg_reload_conf()", CancellationToken.None);
        }

        await Task.Delay(500, cancellationToken);
        var statements = ReadStatements(logFile, offset, new NpgsqlConnectionStringBuilder(stack.MetadataConnectionString).Database!);
        var directory = Path.Combine(resultsDirectory, "explain");
        Directory.CreateDirectory(directory);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var skipped = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (sql, parameters) in statements)
        {
            var key = Whitespace().Replace(sql, " ").Trim();
            if (!seen.Add(key))
            {
                continue;
            }

            var verb = key.Split(' ', 2)[0].ToUpperInvariant();
            if (verb is not ("SELECT" or "WITH") || key.Contains("pg_reload_conf", StringComparison.Ordinal))
            {
                skipped.Add(key.Length > 60 ? key[..60] + "…" : key);
                continue;
            }

            // The reads of the capture repository run again against a repository nothing read: cold buffers.
            var values = parameters.Select(p => p.Replace(captureGun, coldGun, StringComparison.Ordinal)).ToList();
            var file = $"{name}-{result.Plans.Count(p => p.Database == name) + 1:D2}-{Label(key)}.txt";
            var plan = await ExplainOneAsync(data, sql, values, cancellationToken);
            await File.WriteAllTextAsync(
                Path.Combine(directory, file),
                $"-- as logged by PostgreSQL (TrustServer's SQL)\n{sql}\n\n-- parameters\n{string.Join("\n", values.Select((v, i) => $"${i + 1} = {Shorten(v)}"))}\n\n-- EXPLAIN (ANALYZE, BUFFERS)\n{plan}\n",
                cancellationToken);
            result.Plans.Add(Summarize(name, key, plan, "explain/" + file));
        }

        if (skipped.Count > 0)
        {
            result.Notes.Add($"Logged on the {name} database but not explained (writes, transaction control, the bench's own): " + string.Join("; ", skipped.Select(s => $"`{s}`")) + ".");
        }

        progress($"scale: {name} database: {result.Plans.Count(p => p.Database == name)} query plans in {directory}; {result.Plans.Count(p => p.Database == name && p.Suspicious)} to check");
    }

    private static string? FindPostgresLog(BenchStack stack)
    {
        // LocalPostgresCluster: "... (data in <dir>)", log <dir>/postgres-<port>.log (pg_ctl -l).
        var description = stack.PostgresDescription;
        var marker = description.IndexOf("(data in ", StringComparison.Ordinal);
        if (marker < 0)
        {
            return null;
        }

        var directory = description[(marker + "(data in ".Length)..].TrimEnd(')');
        var port = new NpgsqlConnectionStringBuilder(stack.MetadataConnectionString).Port;
        var file = Path.Combine(directory, $"postgres-{port.ToString(CultureInfo.InvariantCulture)}.log");
        return File.Exists(file) ? file : null;
    }

    // Statements executed after `offset`, in order, with their parameters (as SQL literals).
    private static List<(string Sql, List<string> Parameters)> ReadStatements(string logFile, long offset, string database)
    {
        using var stream = new FileStream(logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var records = new List<(string Pid, string Db, string Level, StringBuilder Text)>();
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (LogLine().Match(line) is { Success: true } match)
            {
                records.Add((match.Groups["pid"].Value, match.Groups["db"].Value, match.Groups["level"].Value, new StringBuilder(match.Groups["text"].Value)));
            }
            else if (line.StartsWith('\t') && records.Count > 0)
            {
                records[^1].Text.Append('\n').Append(line[1..]);
            }
        }

        var statements = new List<(string Sql, List<string> Parameters)>();
        var lastOfPid = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (pid, db, level, text) in records.Where(r => r.Db == database))
        {
            // A DETAIL belongs to the record of its backend right before it: parameters of an execute, not of a bind.
            var value = text.ToString();
            if (level != "DETAIL")
            {
                lastOfPid.Remove(pid);
            }

            if (level == "LOG" && Executed().Match(value) is { Success: true } executed)
            {
                statements.Add((executed.Groups["sql"].Value, []));
                lastOfPid[pid] = statements.Count - 1;
            }
            else if (level == "DETAIL" && value.StartsWith("parameters: ", StringComparison.Ordinal) && lastOfPid.Remove(pid, out var index))
            {
                statements[index].Parameters.AddRange(Parameter().Matches(value).OrderBy(m => int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture)).Select(m => m.Groups["value"].Value));
            }
        }

        return statements;
    }

    // PREPARE with the logged parameters as literals (their types inferred as for the real statement), EXPLAIN
    // EXECUTE, all in a transaction that is rolled back (the lock batch's advisory lock and notification included).
    private static async Task<string> ExplainOneAsync(NpgsqlDataSource data, string sql, List<string> parameters, CancellationToken cancellationToken)
    {
        await using var connection = await data.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            string explain;
            if (parameters.Count == 0)
            {
                explain = "EXPLAIN (ANALYZE, BUFFERS) " + sql;
            }
            else
            {
                await using (var prepare = new NpgsqlCommand("PREPARE scale_explain AS " + sql, connection, transaction))
                {
                    await prepare.ExecuteNonQueryAsync(cancellationToken);
                }

                explain = $"EXPLAIN (ANALYZE, BUFFERS) EXECUTE scale_explain({string.Join(", ", parameters)})";
            }

            await using var command = new NpgsqlCommand(explain, connection, transaction);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var plan = new StringBuilder();
            while (await reader.ReadAsync(cancellationToken))
            {
                plan.AppendLine(reader.GetString(0));
            }

            return plan.ToString();
        }
        catch (PostgresException ex)
        {
            return "EXPLAIN failed: " + ex.MessageText;
        }
        finally
        {
            await transaction.RollbackAsync(CancellationToken.None);
        }
    }

    private static ScalePlan Summarize(string database, string sql, string plan, string file)
    {
        var scans = ScanNode().Matches(plan)
            .Select(m => m.Groups["kind"].Value + (m.Groups["index"].Success ? " " + m.Groups["index"].Value : " on " + m.Groups["table"].Value))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var sortedRows = SortNode().Matches(plan).Select(m => long.Parse(m.Groups["rows"].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
        var seqScan = ScanNode().Matches(plan).Any(m => m.Groups["kind"].Value == "Seq Scan" && m.Groups["table"].Value is "tuf_files" or "changefeed");
        var buffers = BuffersLine().Match(plan) is { Success: true } b ? b.Groups["buffers"].Value.Trim() : "–";
        double? ms = ExecutionTime().Match(plan) is { Success: true } t ? double.Parse(t.Groups["ms"].Value, CultureInfo.InvariantCulture) : null;
        return new ScalePlan(
            database,
            Label(sql),
            Label(sql).Replace('-', ' ') + ": `" + (sql.Length > 90 ? sql[..90] + "…" : sql) + "`",
            scans.Count == 0 ? (plan.StartsWith("EXPLAIN failed", StringComparison.Ordinal) ? plan.Trim() : "no table scan") : string.Join(", ", scans) + (sortedRows > 0 ? $"; sort of {sortedRows} rows" : string.Empty),
            buffers,
            ms,
            seqScan || sortedRows > 100 || plan.StartsWith("EXPLAIN failed", StringComparison.Ordinal),
            file);
    }

    // A short name for the query (file name and table): which of TrustServer's lookups it is.
    private static string Label(string sql) => sql switch
    {
        _ when sql.Contains("pg_advisory_xact_lock", StringComparison.Ordinal) => "lock-batch-lock",
        _ when sql.Contains("WITH RECURSIVE", StringComparison.Ordinal) && sql.Contains("LATERAL", StringComparison.Ordinal) => "latest-of-each-role",
        _ when sql.Contains("WITH RECURSIVE", StringComparison.Ordinal) && sql.Contains("MAX(m.version)", StringComparison.Ordinal) && !sql.Contains("f.data", StringComparison.Ordinal) => "highest-versions",
        _ when sql.Contains("WITH RECURSIVE", StringComparison.Ordinal) => "latest-of-each-role-portable",
        _ when sql.Contains("changefeed", StringComparison.Ordinal) => "changefeed",
        _ when sql.Contains("tuf_files", StringComparison.Ordinal) && sql.Contains(".sha256 = ", StringComparison.Ordinal) => "by-checksum",
        _ when sql.Contains("tuf_files", StringComparison.Ordinal) && sql.Contains(".version = ", StringComparison.Ordinal) => "by-version",
        _ when sql.Contains("tuf_files", StringComparison.Ordinal) && sql.Contains("ORDER BY", StringComparison.Ordinal) && sql.Contains("version DESC", StringComparison.Ordinal) => "latest",
        _ when sql.Contains("tuf_files", StringComparison.Ordinal) => "tuf-files-other",
        _ => "other",
    };

    private static string Shorten(string value) => value.Length > 200 ? value[..200] + $"… ({value.Length} characters)" : value;

    private static async Task ExecuteAsync(NpgsqlDataSource data, string sql, CancellationToken cancellationToken)
    {
        await using var command = data.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
