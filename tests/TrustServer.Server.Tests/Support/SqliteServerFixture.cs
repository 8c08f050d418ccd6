using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Support;

/// <summary>
/// The fast way to test the server: the real host (Kestrel on 127.0.0.1, every middleware, the embedded signer) on
/// an SQLite file, started in-process once per test class. No PostgreSQL, no external binaries.
/// </summary>
public sealed class SqliteServerFixture : IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("trustserver-server-tests");
    private TrustServerInstance? _server;

    /// <summary>The running server.</summary>
    public TrustServerInstance Server => _server ?? throw new InvalidOperationException("the fixture has not started");

    /// <summary>A client for raw HTTP requests.</summary>
    public HttpClient Http => Server.Http;

    /// <inheritdoc/>
    public async Task InitializeAsync() =>
        _server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(_directory.Combine("trustserver.db")));

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
