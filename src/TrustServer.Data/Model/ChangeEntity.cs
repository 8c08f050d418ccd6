namespace TrustServer.Data.Model;

/// <summary>
/// A row of <c>changefeed</c> (spec validation.md §10.1, server-api.md §10). Rows are only ever inserted; the
/// identity <see cref="Id"/> orders the feed.
/// </summary>
internal sealed class ChangeEntity
{
    /// <summary>The <c>update</c> category: a timestamp file was stored.</summary>
    public const string UpdateCategory = "update";

    /// <summary>The <c>deletion</c> category: the repository was deleted.</summary>
    public const string DeletionCategory = "deletion";

    /// <summary>Identity primary key; the feed's <c>change_id</c>.</summary>
    public long Id { get; set; }

    /// <summary>Insertion time, UTC, microsecond precision.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The repository (GUN).</summary>
    public required string Gun { get; set; }

    /// <summary>The timestamp version (0 for a deletion).</summary>
    public long Version { get; set; }

    /// <summary>Lowercase hex SHA-256 of the timestamp file; empty string for a deletion (never null).</summary>
    public required string Sha256 { get; set; }

    /// <summary><see cref="UpdateCategory"/> or <see cref="DeletionCategory"/>.</summary>
    public required string Category { get; set; }
}
