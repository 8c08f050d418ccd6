using Npgsql;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of one test class alone (initdb + pg_ctl from the installed binaries), so that the class can
/// stop and restart it without disturbing the shared server of other classes. Always uses local binaries, also when
/// <c>TRUSTSERVER_TEST_POSTGRES</c> names a server (that one cannot be restarted); fails with the reason when there
/// are none — never skips.
/// </summary>
public sealed class PrivatePostgres : IAsyncLifetime
{
    private LocalPostgresCluster? _cluster;

    internal LocalPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("PrivatePostgres is not initialized.");

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        var binaries = LocalPostgresCluster.FindBinDirectory() ?? throw new InvalidOperationException(
            "Database fault tests stop and restart a private PostgreSQL cluster and need the server binaries (initdb, pg_ctl) on PATH or "
            + "under /usr/lib/postgresql/*/bin; a server named by TRUSTSERVER_TEST_POSTGRES cannot be restarted by the tests. "
            + "Install them (Debian/Ubuntu: apt-get install -y postgresql; scripts/test.sh does this).");
        _cluster = await LocalPostgresCluster.StartAsync(binaries, CancellationToken.None);
    }

    /// <inheritdoc/>
    public Task DisposeAsync()
    {
        _cluster?.Stop();
        return Task.CompletedTask;
    }

    /// <summary>Creates an empty database; returns its connection string (superuser).</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"faults_{Guid.NewGuid():N}"[..20];
        await ExecuteAsync($"CREATE DATABASE \"{name}\" WITH TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'");
        return new NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Runs one statement as the superuser on the maintenance database (a new, unpooled session).</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
