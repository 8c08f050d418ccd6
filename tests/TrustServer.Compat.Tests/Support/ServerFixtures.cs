using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Support;

/// <summary>A server on its own throwaway PostgreSQL database, shared by the tests of one class.</summary>
public sealed class PostgresServerFixture : PostgresDatabaseFixture
{
    private TrustServerInstance? _server;

    /// <summary>The running server.</summary>
    public TrustServerInstance Instance => _server ?? throw new InvalidOperationException("not started");

    /// <inheritdoc/>
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _server = await TrustServerInstance.StartAsync(new ServerStorage.Postgres(ConnectionString));
    }

    /// <inheritdoc/>
    public override async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}

/// <summary>A server on the embedded default storage (an SQLite file in a temp directory), shared by one class.</summary>
public sealed class SqliteServerFixture : IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("trustserver-sqlite");
    private TrustServerInstance? _server;

    /// <summary>The running server.</summary>
    public TrustServerInstance Instance => _server ?? throw new InvalidOperationException("not started");

    /// <inheritdoc/>
    public async Task InitializeAsync() =>
        _server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(_directory.Combine("data", "trustserver.db")));

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _directory.Dispose();
    }
}
