using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Data;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Tests.Keys;

/// <summary>
/// The embedded signing service and its key store when PostgreSQL restarts under them (<c>pg_ctl restart -m fast</c>
/// on a private cluster): the pooled connections die with 57P01, and the next operations must still succeed.
/// </summary>
public sealed class KeyStoreDatabaseRestartTests : IAsyncLifetime
{
    private const string ApplicationName = "keystore-restart-test";
    private static readonly byte[] Body = "{\"_type\":\"Timestamp\",\"version\":1}"u8.ToArray();
    private LocalPostgresCluster? _cluster;

    private LocalPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        var binDirectory = LocalPostgresCluster.FindBinDirectory()
            ?? throw new InvalidOperationException("This test restarts its own PostgreSQL cluster: install the server binaries (apt-get install postgresql).");
        _cluster = await LocalPostgresCluster.StartAsync(binDirectory, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _cluster?.Stop();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task PostgresRestart_BetweenSigns_SignCreateAndDeleteSucceedAfterwards()
    {
        var clock = new FixedTimeProvider(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
        var connectionString = new NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { ApplicationName = ApplicationName }.ConnectionString;
        await using var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddEmbeddedSigning(StorageProvider.Postgres, connectionString, KeyDatabase.Alias, KeyDatabase.DefaultPassphrases)
            .BuildServiceProvider();
        await services.MigrateKeyDatabaseAsync();
        var signing = services.GetRequiredService<ISigningService>();

        // Keys created through another store instance (e.g. another replica), so this one has none cached; concurrent
        // creates, as under load, leave several idle connections in the process's pool.
        var other = new KeyStore(StorageProvider.Postgres, connectionString, KeyDatabase.Alias, KeyDatabase.DefaultPassphrases);
        var keys = (await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            other.CreateKeyAsync($"example.com/restart/{i}", "timestamp", KeyType.Ecdsa)))).Select(k => k.PublicKey).ToArray();
        Assert.True(await PooledConnectionsAsync() >= 2, "precondition: several pooled connections");
        Assert.Single(await signing.SignAsync("example.com/restart/0", "timestamp", [keys[0]], Body, CancellationToken.None));

        await Cluster.RestartServerAsync();

        // A key not in the store's cache: the sign path reads its row (then writes last_used).
        Assert.Single(await signing.SignAsync("example.com/restart/1", "timestamp", [keys[1]], Body, CancellationToken.None));

        // The sign path's write: last_used of an already cached key, due again after LastUsedResolution.
        clock.Now += KeyStore.LastUsedResolution;
        await Cluster.RestartServerAsync();
        Assert.Single(await signing.SignAsync("example.com/restart/0", "timestamp", [keys[0]], Body, CancellationToken.None));

        // Get-or-create: returns the pending key (signed keys are active), stores exactly one row.
        await Cluster.RestartServerAsync();
        var pending = await signing.CreateKeyAsync("example.com/restart/2", "timestamp", KeyType.Ecdsa);
        Assert.Equal(keys[2].Id, pending.Id);

        await Cluster.RestartServerAsync();
        await services.GetRequiredService<KeyStore>().DeleteKeyAsync(keys[3].Id);
        Assert.Null(await signing.GetKeyInfoAsync(keys[3].Id));
    }

    private async Task<long> PooledConnectionsAsync()
    {
        await using var connection = new NpgsqlConnection(Cluster.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = @name", connection);
        command.Parameters.AddWithValue("name", ApplicationName);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
