using System.Text;
using System.Text.RegularExpressions;

namespace TrustServer.Server.Notary;

/// <summary>What a Notary route hands its handler: the context and the captured path groups.</summary>
internal delegate Task<IResult> NotaryHandler(HttpContext context, Match match);

/// <summary>
/// One route of notary-server's table (spec server-api.md §1): the single source of dispatch, required access and the
/// OpenAPI description. <see cref="NotaryRouter"/> runs the GUN checks and auth before <see cref="Handler"/>.
/// </summary>
/// <param name="Operation">Name in logs and in the <c>route</c> metric label.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">
/// OpenAPI path template, e.g. <c>/v2/{gun}/_trust/tuf/{role}.json</c>; each parameter matches the regex group of
/// <see cref="NotaryPathParameter.All"/>, literal text matches itself.
/// </param>
/// <param name="Handler">Serves a matched request once the GUN checks and auth have passed.</param>
/// <param name="Actions">
/// With token auth, the actions required on <c>repository:&lt;gun&gt;</c> (spec auth.md §2); a route without a GUN
/// requires <c>registry:catalog:*</c> whatever its actions. Null: open without a token.
/// </param>
/// <param name="Api">The OpenAPI description.</param>
internal sealed record NotaryRoute(string Operation, string Method, string Path, NotaryHandler Handler, IReadOnlyList<string>? Actions, NotaryApi Api)
{
    /// <summary>Whether the path captures a GUN, which dispatch checks first (spec server-api.md §9).</summary>
    public bool HasGun { get; } = NotaryPathParameter.NamesIn(Path).Contains("gun");

    /// <summary>An update answers a bad GUN with 400 INVALID_GUN; other routes answer 404.</summary>
    public bool IsUpdate { get; init; }

    /// <summary>The anchored pattern matched against the decoded path.</summary>
    public Regex Pattern { get; } = NotaryPathParameter.Compile(Path);

    /// <summary>The OpenAPI operation id: <see cref="NotaryApi.OperationId"/>, else <see cref="Operation"/>.</summary>
    public string OperationId => Api.OperationId ?? Operation;
}

/// <summary>A path template parameter: its regex (a named group), OpenAPI description and, when closed, its values.</summary>
internal sealed partial record NotaryPathParameter(string Group, string Description, params string[] Values)
{
    /// <summary>The parameters templates may use.</summary>
    public static readonly IReadOnlyDictionary<string, NotaryPathParameter> All = new Dictionary<string, NotaryPathParameter>(StringComparer.Ordinal)
    {
        // One or more characters other than '*'.
        ["gun"] = new(@"(?<gun>[^*]+)", "Globally unique name of the repository, e.g. docker.io/library/alpine (may contain slashes; not '*')."),

        // Role names at routing level: root|targets(/x)*|snapshot|timestamp.
        ["role"] = new(@"(?<role>root|targets(?:/[^/\s]+)*|snapshot|timestamp)", "root, targets, targets/<delegation>…, snapshot or timestamp."),
        ["checksum"] = new(@"(?<checksum>[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})", "SHA-256 of the file, lowercase hex."),
        ["version"] = new(@"(?<version>[1-9]*[0-9]+)", "Decimal version, 1 or more."),
        ["keyRole"] = new(@"(?<role>snapshot|timestamp)", "snapshot or timestamp.", "snapshot", "timestamp"),
    };

    /// <summary>The parameter names of <paramref name="template"/> in order.</summary>
    public static IEnumerable<string> NamesIn(string template) => Placeholder().Matches(template).Select(m => m.Groups["name"].Value);

    // Compiled: every request runs through these patterns (the interpreter cost ~5 % of a cached GET).
    internal static Regex Compile(string template)
    {
        var pattern = new StringBuilder("^");
        var literal = 0;
        foreach (Match placeholder in Placeholder().Matches(template))
        {
            pattern.Append(Regex.Escape(template[literal..placeholder.Index])).Append(All[placeholder.Groups["name"].Value].Group);
            literal = placeholder.Index + placeholder.Length;
        }

        pattern.Append(Regex.Escape(template[literal..])).Append('$');
        return new Regex(pattern.ToString(), RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture | RegexOptions.Compiled);
    }

    [GeneratedRegex(@"\{(?<name>[A-Za-z]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}

/// <summary>The OpenAPI description of a route.</summary>
/// <param name="Description">What the route does; its first sentence is the summary.</param>
/// <param name="Responses">The documented responses in order.</param>
internal sealed record NotaryApi(string Description, params NotaryApiResponse[] Responses)
{
    /// <summary>The operation id when it differs from the route's operation name.</summary>
    public string? OperationId { get; init; }

    /// <summary>When the route takes a multipart upload: the description of its <c>files</c> parts.</summary>
    public string? Upload { get; init; }

    /// <summary>The query parameters.</summary>
    public IReadOnlyList<NotaryQueryParameter> Query { get; init; } = [];
}

/// <summary>A documented response: plain (with an optional media type) or the Notary error envelope with its codes.</summary>
internal sealed record NotaryApiResponse(string Status, string Description, string? MediaType = null, bool IsNotaryError = false)
{
    /// <summary>A 200 response.</summary>
    public static NotaryApiResponse Ok(string description, string? mediaType = null) => new("200", description, mediaType);

    /// <summary>The Notary error envelope with <paramref name="codes"/> (and what they mean).</summary>
    public static NotaryApiResponse Error(string status, string codes) => new(status, codes, IsNotaryError: true);
}

/// <summary>A 32-bit integer query parameter.</summary>
internal sealed record NotaryQueryParameter(string Name, string Description, bool Required = false);
