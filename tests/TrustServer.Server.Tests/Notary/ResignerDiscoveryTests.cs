using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Notary;
using TrustServer.Server.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Tests.Notary;

/// <summary>
/// The background re-signer's discovery on PostgreSQL, counted through a wrapper of the real store and catalog: at
/// start and from the changefeed, repositories are scheduled from pages of heads (one query per page); only those that
/// need renewal, or whose newest snapshot is not the one their timestamp names, are read one at a time; a repository
/// deleted or changed between two pages is handled; a due repository is still renewed.
/// </summary>
public sealed class ResignerDiscoveryTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IDisposable
{
    private const string Prefix = "example.com/discovery/";
    private const int Bulk = 250;
    private readonly TemporaryDirectory _directory = new("trustserver-resigner-discovery");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Discovery_ReadsPagesOfHeads_OnlyWhatNeedsMoreAlone_AndDueRepositoriesAreRenewed()
    {
        var storage = new ServerStorage.Postgres(database.ConnectionString);
        var passphrase = _directory.Combine("passphrase");
        var start = DateTimeOffset.UtcNow;
        using var keys = new TestRepository(Prefix + "template");
        var (bulkFiles, snapshot) = BulkFiles(keys, start);

        // Seeded with the re-signer off: one repository published through the server (its timestamp key is the
        // server's: renewed when due), 250 copies stored directly (client keys, timestamps for a year: nothing due),
        // one of which has a newer snapshot than the one its timestamp names.
        string due;
        await using (var seed = await TrustServerInstance.StartAsync(storage, [new("Signing:Resigner:Enabled", "false"), new("ExpiryAlerts:Enabled", "false")], null, passphrase))
        {
            using var repo = await ServerRepository.CreateAsync(seed.Http, Prefix + "due");
            await repo.InitializeAsync();
            due = repo.Gun;
            var seedStore = seed.Services.GetRequiredService<IMetadataStore>();
            for (var i = 0; i < Bulk; i++)
            {
                Assert.Equal(CommitOutcome.Committed, await seedStore.CommitAsync(BulkGun(i), null, bulkFiles, Audit));
            }

            var unnamed = TestRepository.Sign(keys.SnapshotBody(2, [("root", bulkFiles[0].Data), ("targets", bulkFiles[1].Data)], start.AddYears(3)), keys.SnapshotKey);
            Assert.Equal(CommitOutcome.Committed, await seedStore.CommitAsync(BulkGun(50), 1, [new(RoleName.Snapshot, 2, unnamed)], Audit));
        }

        // Between the first and the second page of the start's load: a repository of a later page is deleted, another
        // gets a timestamp that expires in a day (due at once; its key is not the server's, so it is skipped).
        var expiring = SignedTimestamp(keys, snapshot, new ServerLifetimes(TimeSpan.FromDays(1), TimeSpan.FromDays(1095)), start, 2);
        var clock = new FakeTimeProvider(start);
        var logs = new CapturingLoggerProvider();
        Counting? counting = null;
        await using var server = await TrustServerInstance.StartAsync(
            storage,
            [
                new("Signing:Resigner:BatchSize", "100"),
                new("ExpiryAlerts:Enabled", "false"),
                new("Serilog:MinimumLevel:Override:TrustServer.Server.Notary.BackgroundResigner", "Information"),
            ],
            services =>
            {
                services.AddSingleton<TimeProvider>(clock);
                services.AddSingleton<ILoggerProvider>(logs);
                Decorate<IMetadataStore>(services, (sp, inner) => (counting ??= new Counting()).Store = new CountingStore(inner, counting));
                Decorate<IMetadataCatalog>(services, (sp, inner) => new CountingCatalog(inner, counting ??= new Counting(), async () =>
                {
                    var store = sp.GetRequiredService<IMetadataStore>();
                    Assert.True(await store.DeleteAsync(BulkGun(150), Audit with { Action = AuditActions.Delete }));
                    Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(BulkGun(120), 1, [new(RoleName.Timestamp, 2, expiring)], Audit));
                }));
            },
            passphrase);
        var status = server.Services.GetRequiredService<ResignerStatus>();
        var store = server.Services.GetRequiredService<IMetadataStore>();

        // 1 + 250 − the deleted one; three pages of at most 100 heads; alone: the one whose snapshot is newer than its
        // timestamp's, and (due at once) the changed one, which is skipped; none of the other bulk ones.
        await EventuallyAsync(clock, () => logs.Lines.Any(l => l.Contains("working on this replica", StringComparison.Ordinal)));
        Assert.Contains(logs.Lines, l => l.Contains($"working on this replica: {Bulk} repositories scheduled", StringComparison.Ordinal));
        Assert.Equal(3, counting!.HeadPages);
        await EventuallyAsync(clock, () => logs.Lines.Any(l => l.Contains("Not re-signing", StringComparison.Ordinal) && l.Contains(BulkGun(120), StringComparison.Ordinal)));
        // The published one too: its client-held snapshot expires within the snapshot margin, so until its root shows
        // that the server does not hold the snapshot key, it is due for a look (read alone, then scheduled).
        await EventuallyAsync(clock, () => counting.AloneGuns.Contains(due));
        Assert.Equal([BulkGun(50), BulkGun(120), due], counting.AloneGuns.Distinct().Order(StringComparer.Ordinal));
        await EventuallyAsync(clock, () => status.Scheduled == Bulk - 1); // the skipped one is set aside until it changes

        // From the changefeed: 150 new repositories, one existing deleted, one new created and deleted again. Their
        // heads come in one query per changefeed page; none is read alone.
        counting.AloneGuns.Clear();
        for (var i = Bulk; i < Bulk + 150; i++)
        {
            Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(BulkGun(i), null, bulkFiles, Audit));
        }

        Assert.True(await store.DeleteAsync(BulkGun(10), Audit with { Action = AuditActions.Delete }));
        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(Prefix + "short-lived", null, bulkFiles, Audit));
        Assert.True(await store.DeleteAsync(Prefix + "short-lived", Audit with { Action = AuditActions.Delete }));
        await EventuallyAsync(clock, () => status.Scheduled == Bulk - 1 + 150 - 1);
        Assert.InRange(counting.HeadQueries, 1, 3);
        Assert.Empty(counting.AloneGuns);

        // Nine and a half days on, the server-published repository is due: renewed (alone, as every renewal is).
        clock.Advance(TimeSpan.FromDays(9.5));
        await EventuallyAsync(clock, () => store.GetLatestAsync(due, RoleName.Timestamp).Result is { Version: 2 });
        Assert.Equal([due], counting.AloneGuns.Distinct());
        Assert.Equal(Bulk - 1 + 150 - 1, status.Scheduled);
    }

    private static readonly AuditContext Audit = new(AuditActions.Import, AuditActor.System("test-copy"));

    private static string BulkGun(int i) => Prefix + "bulk-" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);

    // Root, targets, a snapshot for three years and a timestamp for a year, all signed by the client's keys.
    private static (MetadataFile[] Files, byte[] Snapshot) BulkFiles(TestRepository keys, DateTimeOffset now)
    {
        var root = keys.Root();
        var targets = keys.Targets(1);
        var snapshot = TestRepository.Sign(keys.SnapshotBody(1, [("root", root), ("targets", targets)], now.AddYears(3)), keys.SnapshotKey);
        var timestamp = SignedTimestamp(keys, snapshot, new ServerLifetimes(TimeSpan.FromDays(365), TimeSpan.FromDays(1095)), now, 1);
        return ([new(RoleName.Root, 1, root), new(RoleName.Targets, 1, targets), new(RoleName.Snapshot, 1, snapshot), new(RoleName.Timestamp, 1, timestamp)], snapshot);
    }

    private static byte[] SignedTimestamp(TestRepository keys, byte[] snapshot, ServerLifetimes lifetimes, DateTimeOffset now, long version)
    {
        var previous = version == 1 ? null : MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(SignedTimestamp(keys, snapshot, lifetimes, now, version - 1)));
        var body = new ServerMetadataBuilder(new FakeTimeProvider(now), lifetimes).TimestampBody(previous, snapshot);
        return SignedEnvelope.Assemble(body, [keys.TimestampKey.Sign(body)]);
    }

    private static void Decorate<T>(IServiceCollection services, Func<IServiceProvider, T, T> wrap)
        where T : class
    {
        var descriptor = services.Last(d => d.ServiceType == typeof(T));
        services.Remove(descriptor);
        services.AddSingleton(sp => wrap(sp, (T)descriptor.ImplementationFactory!(sp)));
    }

    // Waits (real time, at most 30 s) for a condition, moving the fake clock on by a second each time.
    private static async Task EventuallyAsync(FakeTimeProvider clock, Func<bool> condition)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the condition did not hold within 30 s");
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(100);
        }
    }

    private sealed class Counting
    {
        public IMetadataStore? Store { get; set; }

        public int HeadPages;

        public int HeadQueries;

        // GUNs whose chain was read alone (the per-repository path's first query).
        public ConcurrentBag<string> AloneGuns { get; } = [];
    }

    private sealed class CountingCatalog(IMetadataCatalog inner, Counting counting, Func<Task> betweenFirstAndSecondPage) : IMetadataCatalog
    {
        public Task<Page<RepositorySummary>> ListRepositoriesAsync(string? prefix, int skip, int take, CancellationToken cancellationToken = default) =>
            inner.ListRepositoriesAsync(prefix, skip, take, cancellationToken);

        public Task<Page<RoleVersion>> GetRoleHistoryAsync(string gun, string role, int skip, int take, CancellationToken cancellationToken = default) =>
            inner.GetRoleHistoryAsync(gun, role, skip, take, cancellationToken);

        public Task<IReadOnlyList<string>> GetRolesAsync(string gun, CancellationToken cancellationToken = default) => inner.GetRolesAsync(gun, cancellationToken);

        public Task<IReadOnlyList<string>> ListGunsWithTimestampAsync(string? after, int take, CancellationToken cancellationToken = default) =>
            inner.ListGunsWithTimestampAsync(after, take, cancellationToken);

        public async Task<IReadOnlyList<RepositoryHead>> ListRepositoryHeadsAsync(string? after, int take, CancellationToken cancellationToken = default)
        {
            var page = await inner.ListRepositoryHeadsAsync(after, take, cancellationToken);
            if (Interlocked.Increment(ref counting.HeadPages) == 1)
            {
                await betweenFirstAndSecondPage();
            }

            return page;
        }

        public Task<IReadOnlyList<RepositoryHead>> GetRepositoryHeadsAsync(IReadOnlyCollection<string> guns, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref counting.HeadQueries);
            return inner.GetRepositoryHeadsAsync(guns, cancellationToken);
        }
    }

    private sealed class CountingStore(IMetadataStore inner, Counting counting) : IMetadataStore
    {
        public Task<StoredFile?> GetLatestAsync(string gun, string role, CancellationToken cancellationToken = default) => inner.GetLatestAsync(gun, role, cancellationToken);

        public Task<StoredFile?> GetByVersionAsync(string gun, string role, long version, CancellationToken cancellationToken = default) =>
            inner.GetByVersionAsync(gun, role, version, cancellationToken);

        public Task<StoredFile?> GetByChecksumAsync(string gun, string role, string sha256, CancellationToken cancellationToken = default) =>
            inner.GetByChecksumAsync(gun, role, sha256, cancellationToken);

        public Task<IReadOnlyDictionary<string, long>> GetHighestVersionsAsync(string gun, CancellationToken cancellationToken = default) =>
            inner.GetHighestVersionsAsync(gun, cancellationToken);

        public Task<IReadOnlyDictionary<string, StoredFile>> GetLatestOfEachRoleAsync(string gun, CancellationToken cancellationToken = default)
        {
            counting.AloneGuns.Add(gun);
            return inner.GetLatestOfEachRoleAsync(gun, cancellationToken);
        }

        public Task<CommitOutcome> CommitAsync(string gun, long? expectedTimestampVersion, IReadOnlyList<MetadataFile> files, AuditContext audit, CancellationToken cancellationToken = default) =>
            inner.CommitAsync(gun, expectedTimestampVersion, files, audit, cancellationToken);

        public Task<CommitOutcome> CommitAsync(string gun, ExpectedTimestamp expected, IReadOnlyList<MetadataFile> files, AuditContext audit, CancellationToken cancellationToken = default) =>
            inner.CommitAsync(gun, expected, files, audit, cancellationToken);

        public Task<bool> DeleteAsync(string gun, AuditContext audit, CancellationToken cancellationToken = default) => inner.DeleteAsync(gun, audit, cancellationToken);

        public Task<IReadOnlyList<ChangeRecord>> GetChangesAsync(string? gun, long changeId, int records, CancellationToken cancellationToken = default) =>
            inner.GetChangesAsync(gun, changeId, records, cancellationToken);

        public Task<bool> IsOperationalAsync(CancellationToken cancellationToken = default) => inner.IsOperationalAsync(cancellationToken);
    }
}
