using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TrustServer.Compat.Tests.Support;
using TrustServer.Server.Expiry;
using TrustServer.Server.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Tests.Support;

namespace TrustServer.Server.Tests.Expiry;

/// <summary>
/// The background expiry scan on the real host (SQLite, embedded signer), time driven by a fake clock: repositories
/// are counted per role class and window without any read, and move to <c>expired</c> when their file expires.
/// </summary>
public sealed class ExpiryScannerTests : IDisposable
{
    private readonly TemporaryDirectory _directory = new("trustserver-expiry-tests");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task TargetsExpiringInFiveDays_CountsIn7dAnd30d_ThenExpired_RepositoryWithLongExpiryNever()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("expiry.db")),
            [new("ExpiryAlerts:Interval", "00:01:00")],
            services => services.AddSingleton<TimeProvider>(clock));
        var status = server.Services.GetRequiredService<ExpiryScanStatus>();

        using var lasting = await ServerRepository.CreateAsync(server.Http, "example.com/expiry/lasting");
        await lasting.InitializeAsync();
        using var soon = await ServerRepository.CreateAsync(server.Http, "example.com/expiry/soon");
        await soon.InitializeAsync();
        var targets = TestRepository.Sign(soon.Keys.TargetsBody(2, expires: clock.GetUtcNow().AddDays(5)), soon.Keys.TargetsKey);
        var response = await soon.PublishAsync(("targets", targets), ("snapshot", soon.Snapshot(2, targets)));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        // No read of either repository from here on: only the scan sees them.
        var scan = await NextScanAsync(clock, status, clock.GetUtcNow());
        Assert.Equal(2, scan.Repositories);
        AssertCounts(scan, "targets", expired: 0, within7d: 1, within30d: 1);
        AssertCounts(scan, "root", expired: 0, within7d: 0, within30d: 0); // a year
        AssertCounts(scan, "snapshot", expired: 0, within7d: 0, within30d: 0);
        AssertCounts(scan, "timestamp", expired: 0, within7d: 0, within30d: 2); // the server's 14 days
        AssertCounts(scan, "delegation", expired: 0, within7d: 0, within30d: 0);

        // Six days later the targets has expired: counted there, no longer in the windows.
        clock.Advance(TimeSpan.FromDays(6));
        scan = await NextScanAsync(clock, status, clock.GetUtcNow());
        AssertCounts(scan, "targets", expired: 1, within7d: 0, within30d: 0);
        AssertCounts(scan, "root", expired: 0, within7d: 0, within30d: 0);

        // The same values are exported, without any GUN label.
        var metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("trustserver_repositories_expiring{role=\"targets\",within=\"expired\"}", metrics);
        Assert.Contains("trustserver_repositories_expiring{role=\"delegation\",within=\"30d\"}", metrics);
        Assert.DoesNotContain("example.com/expiry", metrics);
        Assert.Matches(@"trustserver_expiry_scan_last_success_seconds \d", metrics);
    }

    private static void AssertCounts(ExpiryScanResult scan, string role, int expired, int within7d, int within30d) =>
        Assert.Equal(
            (expired, within7d, within30d),
            (scan.Counts[(role, "expired")], scan.Counts[(role, "7d")], scan.Counts[(role, "30d")]));

    // Waits (real time, at most 15 s) for a scan that ended after `after`, moving the fake clock on by 10 s each
    // time so that the scanner's 1-minute sleep ends.
    private static async Task<ExpiryScanResult> NextScanAsync(FakeTimeProvider clock, ExpiryScanStatus status, DateTimeOffset after)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        while (status.Last is not { } last || last.Completed <= after)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "no expiry scan completed within 15 s");
            clock.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(100);
        }

        return status.Last;
    }
}
