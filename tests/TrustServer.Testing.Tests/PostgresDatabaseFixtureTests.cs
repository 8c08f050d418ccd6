using Npgsql;
using TrustServer.Testing;
using Xunit.Abstractions;

namespace TrustServer.Testing.Tests;

public sealed class PostgresDatabaseFixtureTests(PostgresDatabaseFixture database, ITestOutputHelper output)
    : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task ClassFixture_SelectOne_ReturnsOne()
    {
        output.WriteLine($"PostgreSQL: {database.Server.Description} ({database.Server.Kind}), database {database.DatabaseName}");
        await using var connection = await database.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);

        Assert.Equal(1, await command.ExecuteScalarAsync());
        Assert.Equal(database.DatabaseName, connection.Database);
    }

    [Fact]
    public async Task GetAsync_ConcurrentCallers_ShareOneServer()
    {
        var servers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(PostgresServer.GetAsync)));

        Assert.All(servers, server => Assert.Same(servers[0], server));
    }

    [Fact]
    public async Task TwoFixtures_CreateTable_DataIsIsolatedAndDatabasesAreDroppedOnDispose()
    {
        var first = new PostgresDatabaseFixture();
        var second = new PostgresDatabaseFixture();
        await Task.WhenAll(first.InitializeAsync(), second.InitializeAsync());
        var names = new[] { first.DatabaseName, second.DatabaseName };
        try
        {
            Assert.NotEqual(first.DatabaseName, second.DatabaseName);

            await using (var connection = await first.OpenConnectionAsync())
            {
                await Execute(connection, "CREATE TABLE items (name text NOT NULL); INSERT INTO items VALUES ('only-in-first')");
            }

            await using (var connection = await second.OpenConnectionAsync())
            {
                await using var command = new NpgsqlCommand("SELECT to_regclass('public.items') IS NULL", connection);
                Assert.Equal(true, await command.ExecuteScalarAsync());
            }

            await using (var connection = await first.OpenConnectionAsync())
            {
                await using var command = new NpgsqlCommand("SELECT name FROM items", connection);
                Assert.Equal("only-in-first", await command.ExecuteScalarAsync());
            }
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
        }

        var server = await PostgresServer.GetAsync();
        Assert.False(await server.DatabaseExistsAsync(names[0]));
        Assert.False(await server.DatabaseExistsAsync(names[1]));
    }

    [Fact]
    public async Task DropDatabaseAsync_WithOpenPooledConnection_DropsAnyway()
    {
        var server = await PostgresServer.GetAsync();
        var name = await server.CreateDatabaseAsync("Drop Me-Please");
        Assert.StartsWith("drop_me_please_", name, StringComparison.Ordinal);
        Assert.True(await server.DatabaseExistsAsync(name));

        // An open (not just pooled) connection of another client would block a plain DROP DATABASE.
        await using var holder = new NpgsqlConnection(server.GetConnectionString(name) + ";Pooling=false");
        await holder.OpenAsync();
        await server.DropDatabaseAsync(name);

        Assert.False(await server.DatabaseExistsAsync(name));
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>A second class using the fixture, so that two classes start up concurrently in one process.</summary>
public sealed class PostgresDatabaseFixtureSecondClassTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task ClassFixture_CreateTable_Works()
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("CREATE TABLE t (id int); INSERT INTO t VALUES (42); SELECT id FROM t", connection);

        Assert.Equal(42, await command.ExecuteScalarAsync());
    }
}
