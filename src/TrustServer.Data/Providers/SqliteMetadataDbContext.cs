using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using TrustServer.Data.Model;

namespace TrustServer.Data.Providers;

/// <summary>
/// The metadata database on SQLite (the embedded default). Migrations under <c>Migrations/Sqlite</c>.
/// SQLite does not enforce <c>varchar(n)</c>, so CHECK constraints give names the same 255-character limit as
/// PostgreSQL (a longer GUN is a database error there too, server-api.md §9).
/// </summary>
internal sealed class SqliteMetadataDbContext(DbContextOptions<SqliteMetadataDbContext> options) : MetadataDbContext(options)
{
    /// <summary>
    /// Configures <paramref name="builder"/> for this context on <paramref name="connectionString"/>, with the compiled
    /// model (<c>CompiledModels/Sqlite</c>, see <see cref="MetadataDbContext"/>) unless <paramref name="compiledModel"/>
    /// is false (design time: the model is then built from <c>OnModelCreating</c>).
    /// </summary>
    public static void Configure(DbContextOptionsBuilder builder, string connectionString, bool compiledModel = true)
    {
        builder.UseSqlite(connectionString, sqlite => sqlite.MigrationsHistoryTable(MigrationsHistoryTable));
        if (compiledModel)
        {
            builder.UseModel(CompiledModels.Sqlite.SqliteMetadataDbContextModel.Instance);
        }
    }

    /// <inheritdoc />
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);

        // SQLite has no timestamp type: fixed-width ISO 8601 UTC text round-trips exactly, reads well in the
        // sqlite3 shell and orders correctly as text.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTextConverter>();
    }

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<TufFileEntity>().ToTable(table =>
        {
            table.HasCheckConstraint("ck_tuf_files_gun_length", $"length(gun) <= {NameMaxLength}");
            table.HasCheckConstraint("ck_tuf_files_role_length", $"length(role) <= {NameMaxLength}");
        });
        modelBuilder.Entity<ChangeEntity>().ToTable(table =>
            table.HasCheckConstraint("ck_changefeed_gun_length", $"length(gun) <= {NameMaxLength}"));
    }

    /// <summary><see cref="DateTimeOffset"/> ↔ <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c> (always UTC, fixed width).</summary>
    internal sealed class UtcTextConverter() : ValueConverter<DateTimeOffset, string>(value => ToText(value), text => FromText(text))
    {
        private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

        internal static string ToText(DateTimeOffset value) => value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

        internal static DateTimeOffset FromText(string text) =>
            DateTimeOffset.ParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
    }
}

/// <summary>Lets <c>dotnet ef migrations add --context SqliteMetadataDbContext</c> build the model.</summary>
internal sealed class SqliteMetadataDbContextDesignTimeFactory : IDesignTimeDbContextFactory<SqliteMetadataDbContext>
{
    /// <inheritdoc />
    public SqliteMetadataDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<SqliteMetadataDbContext>();
        SqliteMetadataDbContext.Configure(builder, "Data Source=trustserver-design-time.db", compiledModel: false);
        return new SqliteMetadataDbContext(builder.Options);
    }
}
