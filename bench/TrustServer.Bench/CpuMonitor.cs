using System.Globalization;

namespace TrustServer.Bench;

/// <summary>Where the machine's CPU went during one measurement, in percent of one core (200 = both cores of a 2-core box).</summary>
internal sealed record CpuShare(double Target, double Signer, double Postgres, double LoadGenerator, double Outside, double Idle)
{
    public string Compact =>
        string.Create(CultureInfo.InvariantCulture, $"srv {Target:0} / sig {Signer:0} / pg {Postgres:0} / load {LoadGenerator:0} / other {Outside:0}");
}

/// <summary>
/// CPU accounting from /proc: machine-wide busy time (/proc/stat) split into the server under test, its signer,
/// our PostgreSQL cluster (postmaster and its backends, including exited ones through cutime), the load generator
/// (this process and its reaped children, i.e. wrk) and everything else — other work on a shared machine, which
/// makes a measurement unreliable.
/// </summary>
internal sealed class CpuMonitor(int? postmasterPid)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux.

    public static int? FindPostmaster(string postgresDescription)
    {
        // LocalPostgresCluster describes itself as "... (data in <dir>)"; the postmaster PID is the first line of
        // <dir>/data/postmaster.pid. Other PostgreSQL sources (external, Docker) are not accounted.
        var marker = postgresDescription.IndexOf("(data in ", StringComparison.Ordinal);
        if (marker < 0)
        {
            return null;
        }

        var directory = postgresDescription[(marker + "(data in ".Length)..].TrimEnd(')');
        try
        {
            var first = File.ReadLines(Path.Combine(directory, "data", "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public Sample Take(int targetPid, int? signerPid)
    {
        var (busy, idle) = MachineTicks();
        var processes = ReadProcesses();
        return new Sample(
            busy,
            idle,
            TreeTicks(processes, targetPid),
            signerPid is { } signer ? TreeTicks(processes, signer) : 0,
            postmasterPid is { } postmaster ? TreeTicks(processes, postmaster) : 0,
            OwnTicks(processes));
    }

    /// <summary>
    /// Waits until PostgreSQL is quiet (under 5 % of a core over 250 ms), at most <paramref name="limit"/>, and returns
    /// how long that took. notary-server keeps queries queued in PostgreSQL after wrk stops (its p99 is seconds); they
    /// ran on into the next measurement and stole the cores from it (a 404 row at 64 connections, measured right
    /// after notary-server's, showed p99 15-460 ms with PostgreSQL busy while TrustServer answered from its cache).
    /// </summary>
    public async Task<TimeSpan> WaitForQuietPostgresAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (postmasterPid is null)
        {
            return TimeSpan.Zero;
        }

        var interval = TimeSpan.FromMilliseconds(250);
        var before = Take(Environment.ProcessId, null);
        while (System.Diagnostics.Stopwatch.GetElapsedTime(started) < limit)
        {
            await Task.Delay(interval, cancellationToken);
            var after = Take(Environment.ProcessId, null);
            if ((after.Postgres - before.Postgres) / TicksPerSecond < 0.05 * interval.TotalSeconds)
            {
                break;
            }

            before = after;
        }

        return System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    public static CpuShare Diff(Sample before, Sample after)
    {
        var seconds = (after.Busy + after.Idle - before.Busy - before.Idle) / TicksPerSecond / Environment.ProcessorCount;
        double Percent(long ticks) => seconds <= 0 ? 0 : Math.Max(0, ticks / TicksPerSecond / seconds * 100);
        var busy = after.Busy - before.Busy;
        var target = after.Target - before.Target;
        var signer = after.Signer - before.Signer;
        var postgres = after.Postgres - before.Postgres;
        var load = after.Own - before.Own;
        return new CpuShare(
            Percent(target), Percent(signer), Percent(postgres), Percent(load),
            Percent(busy - target - signer - postgres - load), Percent(after.Idle - before.Idle));
    }

    private static (long Busy, long Idle) MachineTicks()
    {
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is included in user).
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var idle = fields[3] + fields[4];
        var busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + (fields.Length > 7 ? fields[7] : 0);
        return (busy, idle);
    }

    private sealed record ProcessTicks(int Pid, int ParentPid, long Own, long Children);

    private static Dictionary<int, ProcessTicks> ReadProcesses()
    {
        var result = new Dictionary<int, ProcessTicks>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

                // After "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14.
                long Field(int index) => long.Parse(fields[index], CultureInfo.InvariantCulture);
                result[pid] = new ProcessTicks(pid, (int)Field(1), Field(11) + Field(12), Field(13) + Field(14));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // Exited while reading.
            }
        }

        return result;
    }

    // A process, its reaped children (cutime/cstime), and its live descendants.
    private static long TreeTicks(Dictionary<int, ProcessTicks> processes, int root)
    {
        if (!processes.TryGetValue(root, out var top))
        {
            return 0;
        }

        var children = processes.Values.ToLookup(p => p.ParentPid);
        long total = top.Own + top.Children;
        var pending = new Stack<int>(children[root].Select(p => p.Pid));
        while (pending.Count > 0)
        {
            var pid = pending.Pop();
            total += processes[pid].Own;
            foreach (var child in children[pid])
            {
                pending.Push(child.Pid);
            }
        }

        return total;
    }

    // This process (the load generator for publishes) and its reaped children (wrk); not the live servers, which
    // are counted in their own groups.
    private static long OwnTicks(Dictionary<int, ProcessTicks> processes) =>
        processes.TryGetValue(Environment.ProcessId, out var self) ? self.Own + self.Children : 0;

    public sealed record Sample(long Busy, long Idle, long Target, long Signer, long Postgres, long Own);
}
