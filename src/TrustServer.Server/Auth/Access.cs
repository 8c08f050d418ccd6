using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace TrustServer.Server.Auth;

/// <summary>One access item: resource type, name and a single action (docker/distribution <c>auth.Access</c>).</summary>
internal sealed record AccessItem(string Type, string Name, string Action)
{
    /// <summary>The item every route without a GUN requires (spec auth.md §2).</summary>
    public static readonly AccessItem Catalog = new("registry", "catalog", "*");

    /// <summary>
    /// The items a route requires (notary <c>utils/http.go</c> <c>buildAccessRecords</c>): one
    /// <c>repository:&lt;gun&gt;:&lt;action&gt;</c> per action when the route has a GUN, else <see cref="Catalog"/>.
    /// </summary>
    public static IReadOnlyList<AccessItem> Required(string? gun, IReadOnlyList<string> actions) =>
        string.IsNullOrEmpty(gun) ? [Catalog] : [.. actions.Select(a => new AccessItem("repository", gun, a))];

    /// <summary>Parses <c>type:name:action</c> (the name may contain colons, e.g. a registry port).</summary>
    public static AccessItem? Parse(string text)
    {
        var first = text.IndexOf(':', StringComparison.Ordinal);
        var last = text.LastIndexOf(':');
        return first <= 0 || last <= first ? null : new AccessItem(text[..first], text[(first + 1)..last], text[(last + 1)..]);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Type}:{Name}:{Action}";
}

/// <summary>An entry of a token's <c>access</c> claim: <c>{"type","name","actions"}</c>.</summary>
internal sealed record AccessEntry(string Type, string Name, IReadOnlyList<string> Actions)
{
    /// <summary>
    /// Whether <paramref name="granted"/> contains <paramref name="required"/>: an entry of the same type and name whose
    /// actions contain the action or <c>*</c>; a required <c>*</c> is satisfied only by <c>*</c> (token/util.go).
    /// </summary>
    public static bool Covers(IEnumerable<AccessEntry> granted, AccessItem required) =>
        granted.Any(e => e.Type == required.Type && e.Name == required.Name && e.Actions.Any(a => a == "*" || a == required.Action));

    /// <summary>The claim's JSON form.</summary>
    public JsonObject ToJson() => new() { ["type"] = Type, ["name"] = Name, ["actions"] = new JsonArray([.. Actions.Select(a => JsonValue.Create(a))]) };
}

/// <summary>Formatting of scopes as in challenges and token requests.</summary>
internal static class Scopes
{
    /// <summary><c>type:name:a1,a2</c> per resource, resources space-separated, actions in the given order (spec auth.md §4).</summary>
    public static string Format(IEnumerable<AccessItem> items) =>
        string.Join(' ', items.GroupBy(i => (i.Type, i.Name)).Select(g => $"{g.Key.Type}:{g.Key.Name}:{string.Join(',', g.Select(i => i.Action).Distinct())}"));

    /// <summary>Parses the <c>scope</c> parameters of a token request: space-separated <c>type:name:a1,a2</c>.</summary>
    public static IReadOnlyList<AccessEntry> Parse(IEnumerable<string?> values)
    {
        var entries = new List<AccessEntry>();
        foreach (var scope in values.SelectMany(v => (v ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (AccessItem.Parse(scope) is { } item)
            {
                entries.Add(new AccessEntry(item.Type, item.Name, item.Action.Split(',', StringSplitOptions.RemoveEmptyEntries)));
            }
        }

        return entries;
    }

    /// <summary>Go's <c>%q</c> for the ASCII a challenge carries: quotes, backslash-escapes, control characters as <c>\xNN</c>.</summary>
    public static string GoQuote(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case < ' ' or '\x7f': text.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)); break;
                default: text.Append(c); break;
            }
        }

        return text.Append('"').ToString();
    }
}

/// <summary>
/// Names a scope may carry: Docker references without tag or digest (distribution/reference grammar), at most 255
/// characters. Rules out <c>..</c>, empty components (<c>//</c>), <c>%</c>-escapes and upper case outside the host.
/// </summary>
internal static partial class RepositoryNames
{
    /// <summary>distribution's <c>NameTotalLengthMax</c>.</summary>
    public const int MaxLength = 255;

    /// <summary>Whether <paramref name="name"/> is <c>[host[:port]/]component(/component)*</c>.</summary>
    public static bool IsValid(string name) => name.Length <= MaxLength && Name().IsMatch(name);

    // host := domain-component ('.' domain-component)* | '[' IPv6 ']'; domain-component := [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?;
    // path-component := [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*. \z, not $: $ would also match before a final newline.
    [GeneratedRegex(
        @"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?/)?"
        + @"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\z",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Name();
}
