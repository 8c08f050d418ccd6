using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Npgsql;

namespace TrustServer.Data.Providers;

/// <summary>
/// The metadata database on PostgreSQL (Npgsql): <c>bigint</c> identities, <c>bytea</c> data,
/// <c>timestamp with time zone</c> times. Migrations under <c>Migrations/Postgres</c>.
/// </summary>
internal sealed class PostgresMetadataDbContext(DbContextOptions<PostgresMetadataDbContext> options) : MetadataDbContext(options)
{
    /// <summary>Statements Npgsql keeps prepared per connection unless the connection string says otherwise.</summary>
    internal const int DefaultMaxAutoPrepare = 32;

    /// <summary>
    /// Configures <paramref name="builder"/> for this context on <paramref name="connectionString"/>, with the compiled
    /// model (<c>CompiledModels/Postgres</c>, see <see cref="MetadataDbContext"/>) unless <paramref name="compiledModel"/>
    /// is false (design time: the model is then built from <c>OnModelCreating</c>).
    /// </summary>
    public static void Configure(DbContextOptionsBuilder builder, string connectionString, bool compiledModel = true)
    {
        builder.UseNpgsql(WithPreparedStatements(connectionString), npgsql => npgsql.MigrationsHistoryTable(MigrationsHistoryTable));
        if (compiledModel)
        {
            builder.UseModel(CompiledModels.Postgres.PostgresMetadataDbContextModel.Instance);
        }
    }

    /// <summary>
    /// <paramref name="connectionString"/> with Npgsql's automatic preparation on (<c>Max Auto Prepare</c>
    /// <see cref="DefaultMaxAutoPrepare"/>) unless it sets <c>Max Auto Prepare</c> itself: the few statements of the
    /// read and publish paths (and the commit batch, <see cref="PostgresCommit"/>) are then parsed and planned once
    /// per pooled connection instead of on every execution. <c>Max Auto Prepare=0</c> turns it off (a
    /// transaction-pooling PgBouncer older than 1.21 cannot keep prepared statements).
    /// </summary>
    internal static string WithPreparedStatements(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Max Auto Prepare", StringComparison.OrdinalIgnoreCase)
            && !connectionString.Contains("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        return builder.ConnectionString;
    }

    /// <summary>
    /// A LATERAL probe per role: always a nested loop over the (gun, role, version) index. The portable join let
    /// PostgreSQL, which cannot estimate the recursive CTE's row count (it assumes about 100 roles), hash-join a
    /// sequential scan of the whole table when its statistics are young (4 ms and 400+ buffers per publish under
    /// the benchmark, against 0.1 ms and about 30 buffers).
    /// </summary>
    protected override string LatestOfEachRoleSql => RolesOfGunSql + """

        SELECT f.id, f.created_at, f.gun, f.role, f.version, f.data, f.sha256 FROM roles CROSS JOIN LATERAL (
            SELECT * FROM tuf_files AS m WHERE m.gun = @gun AND m.role = roles.role ORDER BY m.version DESC LIMIT 1) AS f
        """;

    /// <inheritdoc />
    protected override string GunListSql => "SELECT DISTINCT gun FROM unnest(@guns) AS u(gun)";

    /// <inheritdoc />
    protected override object GunListValue(IReadOnlyCollection<string> guns) => guns.ToArray();

    /// <summary>
    /// A LATERAL probe of the (gun, role, version) index per GUN and role, one heap fetch per row (the portable form
    /// fetches the id from the heap first: the index does not cover it on PostgreSQL).
    /// </summary>
    protected override string HeadsSql(string gunsSql) => $"""
        WITH heads_guns(gun) AS ({gunsSql})
        SELECT f.id, f.created_at, f.gun, f.role, f.version, f.data, f.sha256 FROM heads_guns CROSS JOIN LATERAL (
            (SELECT * FROM tuf_files AS t WHERE t.gun = heads_guns.gun AND t.role = 'timestamp' ORDER BY t.version DESC LIMIT 1)
            UNION ALL
            (SELECT * FROM tuf_files AS s WHERE s.gun = heads_guns.gun AND s.role = 'snapshot' ORDER BY s.version DESC LIMIT 1)) AS f
        ORDER BY f.gun
        """;
}

/// <summary>Lets <c>dotnet ef migrations add --context PostgresMetadataDbContext</c> build the model without a server.</summary>
internal sealed class PostgresMetadataDbContextDesignTimeFactory : IDesignTimeDbContextFactory<PostgresMetadataDbContext>
{
    /// <inheritdoc />
    public PostgresMetadataDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<PostgresMetadataDbContext>();
        PostgresMetadataDbContext.Configure(builder, "Host=localhost;Database=trustserver_design_time", compiledModel: false);
        return new PostgresMetadataDbContext(builder.Options);
    }
}
