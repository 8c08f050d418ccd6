using Microsoft.EntityFrameworkCore;
using TrustServer.Data.Model;

namespace TrustServer.Data;

/// <summary>
/// The metadata database: <c>tuf_files</c> and <c>changefeed</c> (spec validation.md §10). Provider-neutral model;
/// <see cref="Providers.PostgresMetadataDbContext"/> and <see cref="Providers.SqliteMetadataDbContext"/> add the
/// provider specifics and own one migration set each.
/// </summary>
internal abstract class MetadataDbContext : DbContext
{
    /// <summary>
    /// EF migrations history table of this context. Not the default <c>__EFMigrationsHistory</c>: the signer's key
    /// store (another context) may share the database and keeps its own history.
    /// </summary>
    public const string MigrationsHistoryTable = "__metadata_migrations";

    /// <summary>Maximum length of GUN and role names (Notary's <c>varchar(255)</c>, server-api.md §9).</summary>
    public const int NameMaxLength = 255;

    /// <summary>Creates the context.</summary>
    protected MetadataDbContext(DbContextOptions options)
        : base(options)
    {
    }

    /// <summary>The <c>tuf_files</c> table.</summary>
    public DbSet<TufFileEntity> TufFiles => Set<TufFileEntity>();

    /// <summary>The <c>changefeed</c> table.</summary>
    public DbSet<ChangeEntity> Changes => Set<ChangeEntity>();

    /// <summary>Role → highest stored version, for every role of <paramref name="gun"/>.</summary>
    public Task<Dictionary<string, long>> ReadHighestVersionsAsync(string gun, CancellationToken cancellationToken) =>
        TufFiles.AsNoTracking()
            .Where(f => f.Gun == gun)
            .GroupBy(f => f.Role)
            .Select(g => new { Role = g.Key, Version = g.Max(f => f.Version) })
            .ToDictionaryAsync(r => r.Role, r => r.Version, StringComparer.Ordinal, cancellationToken);

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<TufFileEntity>(file =>
        {
            file.ToTable("tuf_files");
            file.HasKey(f => f.Id).HasName("pk_tuf_files");
            file.Property(f => f.Id).HasColumnName("id").ValueGeneratedOnAdd();
            file.Property(f => f.CreatedAt).HasColumnName("created_at");
            file.Property(f => f.Gun).HasColumnName("gun").HasMaxLength(NameMaxLength);
            file.Property(f => f.Role).HasColumnName("role").HasMaxLength(NameMaxLength);
            file.Property(f => f.Version).HasColumnName("version");
            file.Property(f => f.Data).HasColumnName("data");
            file.Property(f => f.Sha256).HasColumnName("sha256").HasMaxLength(64);

            // Serves "by version" (equality on all three) and "current"/"highest" (equality on gun, role and a
            // backward scan of version), and is the last line of defence against two writers storing one version.
            file.HasIndex(f => new { f.Gun, f.Role, f.Version }).IsUnique().HasDatabaseName("ux_tuf_files_gun_role_version");

            // Serves "by checksum" (spec server-api.md §5.1: filtered by gun, role and sha256 as SQL notary does).
            file.HasIndex(f => new { f.Gun, f.Role, f.Sha256 }).HasDatabaseName("ix_tuf_files_gun_role_sha256");
        });

        modelBuilder.Entity<ChangeEntity>(change =>
        {
            change.ToTable("changefeed");
            change.HasKey(c => c.Id).HasName("pk_changefeed");
            change.Property(c => c.Id).HasColumnName("id").ValueGeneratedOnAdd();
            change.Property(c => c.CreatedAt).HasColumnName("created_at");
            change.Property(c => c.Gun).HasColumnName("gun").HasMaxLength(NameMaxLength);
            change.Property(c => c.Version).HasColumnName("version");

            // varchar, not Notary's char(64): a deletion's empty SHA-256 must come back empty (server-api.md §10).
            change.Property(c => c.Sha256).HasColumnName("sha256").HasMaxLength(64);
            change.Property(c => c.Category).HasColumnName("category").HasMaxLength(20);

            // The primary key orders the whole feed; (gun, id) serves the per-GUN feed in id order in both
            // directions (a plain index on gun would need a sort of all the GUN's records).
            change.HasIndex(c => new { c.Gun, c.Id }).HasDatabaseName("ix_changefeed_gun_id");
        });
    }
}
