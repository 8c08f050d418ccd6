using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrustServer.Server.Import;

/// <summary>
/// One file of a bundle as <c>manifest.json</c> lists it. <see cref="Role"/> and <see cref="Version"/> are null for
/// the repository's <c>changefeed.json</c>; <see cref="CreatedAt"/> is when the server stored the file.
/// </summary>
public sealed record BundleEntry(string Path, string Gun, string? Role, long? Version, string Sha256, long Size, DateTimeOffset? CreatedAt);

/// <summary>One changefeed record in a bundle's <c>changefeed.json</c> (original id; <see cref="Sha256"/> empty for a deletion).</summary>
public sealed record BundleChange(long Id, DateTimeOffset CreatedAt, long Version, string Sha256, string Category);

/// <summary>
/// <c>manifest.json</c>, the last entry of a bundle: format version, when and with which prefix it was exported, the
/// highest changefeed id it holds, every other entry with its SHA-256 and size, and <see cref="Digest"/> — the
/// SHA-256 of the whole (see <see cref="RepositoryBundle.DigestOf"/>).
/// </summary>
public sealed record BundleManifest(int Format, DateTimeOffset ExportedAt, string? GunPrefix, long HighestChangeId, string Digest, IReadOnlyList<BundleEntry> Entries);

/// <summary>
/// The bundle format of <c>export</c> and <c>import bundle</c> (format 1, documented in the README): a gzip-compressed
/// PAX tar of regular files only,
/// <code>
/// &lt;gun&gt;/&lt;role&gt;/&lt;version&gt;.json   every stored version of every role, bytes verbatim
/// &lt;gun&gt;/changefeed.json           the repository's changefeed records (JSON array, ascending ids)
/// manifest.json                     last: see <see cref="BundleManifest"/>
/// </code>
/// where GUN and role are each one path segment, percent-encoded (RFC 3986 unreserved characters stay, so
/// <c>/</c> becomes <c>%2F</c>); a repository's entries are consecutive.
/// </summary>
public static class RepositoryBundle
{
    /// <summary>The format this build writes and reads.</summary>
    public const int Format = 1;

    /// <summary>The manifest's entry name.</summary>
    public const string ManifestName = "manifest.json";

    /// <summary>The changefeed file's name inside a repository's folder.</summary>
    public const string ChangefeedName = "changefeed.json";

    /// <summary>The largest entry a reader accepts (a bigger size in a header refuses the bundle before reading it).</summary>
    public const long MaxEntryBytes = 128L * 1024 * 1024;

    /// <summary>JSON of the manifest and changefeed files.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The entry name of a metadata file.</summary>
    public static string FilePath(string gun, string role, long version) =>
        string.Create(CultureInfo.InvariantCulture, $"{Uri.EscapeDataString(gun)}/{Uri.EscapeDataString(role)}/{version}.json");

    /// <summary>The entry name of a repository's changefeed file.</summary>
    public static string ChangefeedPath(string gun) => $"{Uri.EscapeDataString(gun)}/{ChangefeedName}";

    /// <summary>The entry name a manifest entry must have.</summary>
    public static string PathOf(BundleEntry entry) =>
        entry.Role is null || entry.Version is null ? ChangefeedPath(entry.Gun) : FilePath(entry.Gun, entry.Role, entry.Version.Value);

    /// <summary>
    /// The SHA-256 of the whole bundle's content: of the lines <c>&lt;sha256&gt;  &lt;path&gt;\n</c> (as
    /// <c>sha256sum</c> prints them) of every entry, in ordinal order of the paths.
    /// </summary>
    public static string DigestOf(IEnumerable<BundleEntry> entries)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{entry.Sha256}  {entry.Path}\n"));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Whether <paramref name="name"/> is an entry name a bundle may hold: relative, '/'-separated, no empty,
    /// <c>.</c> or <c>..</c> segment, no backslash or control character, at most 4096 characters.
    /// </summary>
    public static bool IsSafeName(string name) =>
        name.Length is > 0 and <= 4096
        && !name.Contains('\\', StringComparison.Ordinal)
        && !name.Any(char.IsControl)
        && name.Split('/').All(segment => segment.Length > 0 && segment is not ("." or ".."));
}
