using System.Text.RegularExpressions;

namespace TrustServer.Tuf.Metadata;

/// <summary>Role names and their rules (spec tuf-metadata.md §4.1).</summary>
public static partial class RoleName
{
    /// <summary>The root role.</summary>
    public const string Root = "root";

    /// <summary>The top-level targets role.</summary>
    public const string Targets = "targets";

    /// <summary>The snapshot role.</summary>
    public const string Snapshot = "snapshot";

    /// <summary>The timestamp role.</summary>
    public const string Timestamp = "timestamp";

    /// <summary>The four base roles, in the order Notary checks them in a root.</summary>
    public static readonly IReadOnlyList<string> BaseRoles = [Root, Targets, Snapshot, Timestamp];

    /// <summary>True for a base role or a valid delegation name.</summary>
    public static bool IsValid(string name) => IsBaseRole(name) || IsDelegation(name);

    /// <summary>True for root, targets, snapshot and timestamp.</summary>
    public static bool IsBaseRole(string name) => name is Root or Targets or Snapshot or Timestamp;

    /// <summary>
    /// A delegation name: starts with <c>targets/</c>, only <c>[-a-z0-9_/]</c>, shorter than 256 bytes and
    /// path-clean (no empty, <c>.</c> or <c>..</c> segments, no trailing slash).
    /// </summary>
    public static bool IsDelegation(string name) =>
        name.StartsWith("targets/", StringComparison.Ordinal)
        && name.Length < 256
        && DelegationCharacters().IsMatch(name)
        && IsPathClean(name);

    /// <summary>True for targets and delegations: the roles whose files have <c>_type</c> "Targets".</summary>
    public static bool IsTargetsRole(string name) => name == Targets || IsDelegation(name);

    /// <summary>The parent of a delegation (<c>dirname</c>): <c>targets/a/b</c> → <c>targets/a</c>.</summary>
    public static string Parent(string name)
    {
        var slash = name.LastIndexOf('/');
        return slash < 0 ? "." : name[..slash];
    }

    /// <summary>
    /// Orders targets roles as Notary validates them: fewer path segments first, then plain string order
    /// (spec validation.md §4.1).
    /// </summary>
    public static int CompareForValidation(string left, string right)
    {
        var bySegments = left.Count(c => c == '/').CompareTo(right.Count(c => c == '/'));
        return bySegments != 0 ? bySegments : string.CompareOrdinal(left, right);
    }

    private static bool IsPathClean(string name)
    {
        foreach (var segment in name.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex("^[-a-z0-9_/]+$", RegexOptions.CultureInvariant)]
    private static partial Regex DelegationCharacters();
}
