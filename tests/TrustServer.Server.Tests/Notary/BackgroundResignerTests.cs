using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Observability;
using TrustServer.Server.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Tests.Notary;

/// <summary>
/// The background re-signer on the real host (SQLite, embedded signer): repositories nobody reads are renewed ahead
/// of expiry, on time, and repositories whose timestamp key the server does not hold are left alone.
/// </summary>
public sealed class BackgroundResignerTests : IDisposable
{
    private readonly TemporaryDirectory _directory = new("trustserver-resigner-tests");

    public void Dispose() => _directory.Dispose();

    // Time driven by a fake clock: default lifetimes (timestamp 14 days, renewed when less than a third is left).
    [Fact]
    public async Task Timestamp_IsRenewedWhenAThirdOfItsLifetimeIsLeft_NotBefore()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(clock);
        var store = server.Services.GetRequiredService<IMetadataStore>();
        using var repo = await ServerRepository.CreateAsync(server.Http, "example.com/resigner/clock");
        await repo.InitializeAsync();
        var published = clock.GetUtcNow();

        // Nine days later (4⅔ days of the 14 would be left at 9⅓): nothing is due yet.
        clock.Advance(TimeSpan.FromDays(9));
        await Task.Delay(1000);
        Assert.Equal(1, (await store.GetLatestAsync(repo.Gun, RoleName.Timestamp))!.Version);

        clock.Advance(TimeSpan.FromDays(0.5));
        var renewed = await EventuallyAsync(clock, async () => await store.GetLatestAsync(repo.Gun, RoleName.Timestamp) is { Version: 2 } file ? file : null);

        var timestamp = MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(renewed.Data));
        Assert.InRange(timestamp.Expires.Instant, published + TimeSpan.FromDays(23.5) - TimeSpan.FromSeconds(1), clock.GetUtcNow() + TimeSpan.FromDays(14));
        var root = RootMetadata.FromEnvelope(SignedEnvelope.Parse(repo.Root));
        Assert.Null(ThresholdVerifier.Verify(timestamp.Envelope, root.GetBaseRole(RoleName.Timestamp)));
        Assert.Equal(1, (await store.GetLatestAsync(repo.Gun, RoleName.Snapshot))!.Version); // the client's snapshot stays

        // The changefeed has the renewal as a new timestamp version.
        var changes = await store.GetChangesAsync(repo.Gun, 0, 100);
        Assert.Equal([1L, 2L], changes.Select(c => c.Version));
    }

    // A 1-minute drill lifetime, real time, no reads at all: renewed on time, again and again (each version before the
    // previous one expired, so the re-sign on read never had anything to do).
    [Fact]
    public async Task OneMinuteTimestamp_IsRenewedOnTime_WithoutAnyRead()
    {
        await using var server = await StartAsync(null, ("Signing:Lifetimes:Timestamp", "00:01:00"), ("Signing:Lifetimes:RenewWhenRemaining", "0.9"));
        var store = server.Services.GetRequiredService<IMetadataStore>();
        using var repo = await ServerRepository.CreateAsync(server.Http, "example.com/resigner/drill");
        await repo.InitializeAsync();

        // Renewed 6 s after each signing (0.9 of 60 s left); three versions within 30 s, each before the previous expired.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while ((await store.GetLatestAsync(repo.Gun, RoleName.Timestamp))!.Version < 3)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the timestamp was not renewed twice within 30 s");
            await Task.Delay(200);
        }

        StoredFile? previous = null;
        for (var version = 1; version <= 3; version++)
        {
            var file = (await store.GetByVersionAsync(repo.Gun, RoleName.Timestamp, version))!;
            var expires = MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(file.Data)).Expires.Instant;
            Assert.InRange(expires - file.CreatedAt, TimeSpan.FromSeconds(59), TimeSpan.FromSeconds(60));
            if (previous is not null)
            {
                var previousExpires = MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(previous.Data)).Expires.Instant;
                Assert.True(file.CreatedAt < previousExpires, $"version {version} was signed after version {version - 1} expired");
                Assert.InRange(file.CreatedAt - previous.CreatedAt, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(12));
            }

            previous = file;
        }
    }

    // An imported repository: its root lists a timestamp key the signer does not hold (awaiting rotation).
    [Fact]
    public async Task RootListingATimestampKeyTheServerDoesNotHold_IsSkippedAndCountedOnce()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(clock);
        var store = server.Services.GetRequiredService<IMetadataStore>();
        var skipped = server.Services.GetRequiredService<TrustServerMetrics>().ResignerRepositories.WithLabels("skipped");
        var skippedBefore = skipped.Value;
        using var keys = new TestRepository("example.com/resigner/imported");

        // Stored directly, as an import would: everything signed by the client's keys, the timestamp expiring in a day
        // (due for renewal at once).
        var root = keys.Root();
        var targets = keys.Targets(1);
        var snapshot = keys.Snapshot(1, ("root", root), ("targets", targets));
        var body = new ServerMetadataBuilder(clock, new ServerLifetimes(TimeSpan.FromDays(1), TimeSpan.FromDays(1))).TimestampBody(null, snapshot);
        var timestamp = SignedEnvelope.Assemble(body, [keys.TimestampKey.Sign(body)]);
        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(keys.Gun, null,
            [new(RoleName.Root, 1, root), new(RoleName.Targets, 1, targets), new(RoleName.Snapshot, 1, snapshot), new(RoleName.Timestamp, 1, timestamp)],
            new AuditContext(AuditActions.Import, AuditActor.System("test-copy"))));

        await EventuallyAsync(clock, () => Task.FromResult(skipped.Value > skippedBefore ? (object?)true : null));

        // Past its expiry, through many rounds: never signed, skipped once.
        for (var i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromHours(6));
            await Task.Delay(200);
        }

        Assert.Equal(1, (await store.GetLatestAsync(keys.Gun, RoleName.Timestamp))!.Version);
        Assert.Equal(skippedBefore + 1, skipped.Value);
    }

    private async Task<TrustServerInstance> StartAsync(TimeProvider? clock, params (string Key, string Value)[] settings) =>
        await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine(Guid.NewGuid().ToString("N") + ".db")),
            settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)),
            clock is null ? null : services => services.AddSingleton(clock));

    // Waits (real time, at most 15 s) for a condition, moving the fake clock on by a second each time so that the
    // re-signer's sleeps (the changefeed read every 2 s) end.
    private static async Task<T> EventuallyAsync<T>(FakeTimeProvider clock, Func<Task<T?>> condition)
        where T : class
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        while (true)
        {
            if (await condition() is { } result)
            {
                return result;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, "the condition did not hold within 15 s");
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(100);
        }
    }
}
