using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace TrustServer.Data.Providers;

/// <summary>
/// The metadata database on PostgreSQL (Npgsql): <c>bigint</c> identities, <c>bytea</c> data,
/// <c>timestamp with time zone</c> times. Migrations under <c>Migrations/Postgres</c>.
/// </summary>
internal sealed class PostgresMetadataDbContext(DbContextOptions<PostgresMetadataDbContext> options) : MetadataDbContext(options)
{
    /// <summary>Configures <paramref name="builder"/> for this context on <paramref name="connectionString"/>.</summary>
    public static void Configure(DbContextOptionsBuilder builder, string connectionString) =>
        builder.UseNpgsql(connectionString, npgsql => npgsql.MigrationsHistoryTable(MigrationsHistoryTable));
}

/// <summary>Lets <c>dotnet ef migrations add --context PostgresMetadataDbContext</c> build the model without a server.</summary>
internal sealed class PostgresMetadataDbContextDesignTimeFactory : IDesignTimeDbContextFactory<PostgresMetadataDbContext>
{
    /// <inheritdoc />
    public PostgresMetadataDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<PostgresMetadataDbContext>();
        PostgresMetadataDbContext.Configure(builder, "Host=localhost;Database=trustserver_design_time");
        return new PostgresMetadataDbContext(builder.Options);
    }
}
