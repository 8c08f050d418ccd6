using System.Text.RegularExpressions;

namespace TrustServer.Deploy.Tests.Support;

/// <summary>Which host a configuration key is given to.</summary>
public enum Host
{
    Server,
    Signer,
}

/// <summary>
/// The configuration keys a host really reads, collected from its C# sources: options classes
/// (<c>const string Section = "..."</c> plus their <c>{ get; set; }</c> properties), <c>GetConnectionString("X")</c>,
/// <c>Configuration["A:B"]</c>, literal <c>NOTARY_SIGNER_*</c> variable names and the <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c>
/// passphrase prefix; plus the few ASP.NET Core framework keys the deploy files use (<see cref="FrameworkKeys"/>).
/// </summary>
internal sealed partial class ConfigKeys
{
    /// <summary>
    /// Standard ASP.NET Core settings (not declared in our code): listen URLs and environment for both hosts; Kestrel's
    /// default certificate only for the server (the signer configures its TLS from <c>Tls:*</c> in code).
    /// </summary>
    public static IReadOnlyList<string> FrameworkKeys(Host host) => host == Host.Server
        ? ["ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "Kestrel:Certificates:Default:Path", "Kestrel:Certificates:Default:KeyPath"]
        : ["ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT"];

    /// <summary>
    /// The signer's contract (DESIGN.md §6 and the signer-host branch's <c>SignerOptions.cs</c>), used only while
    /// <c>src/TrustServer.Signer</c> is not in this tree: then its keys cannot be read from the source.
    /// </summary>
    public static readonly IReadOnlyList<string> SignerContractWhileSourceIsMissing =
    [
        "Tls:CertFile", "Tls:KeyFile", "Tls:ClientCaFile", "Tls:AllowInsecure", "Tls:AllowAnyClient", "Storage:Provider",
        "Storage:MigrateOnStartup", "ConnectionStrings:Keys", "Keys:DefaultAlias", "NOTARY_SIGNER_DEFAULT_ALIAS",
    ];

    private readonly HashSet<string> _keys = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _listKeys = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _variables = new(StringComparer.Ordinal);

    // Settable properties of every class (by class name), and options keys whose type is a dictionary or list of such a
    // class (Auth:Issuer:Users is Dictionary<string, IssuerUser>): their entries' keys are <key>:<name>:<property>.
    private readonly Dictionary<string, List<(string Name, string Type)>> _classProperties = new(StringComparer.Ordinal);
    private readonly List<(string Key, string Type)> _collectionKeys = [];
    private readonly HashSet<string> _patterns = new(StringComparer.OrdinalIgnoreCase);

    private readonly Host _host;

    private ConfigKeys(Host host)
    {
        _host = host;
    }

    /// <summary>
    /// Source directories of each host (relative to the repository root), and whether its options classes count: the
    /// signer references TrustServer.Signing for the key store and its passphrase variables, but does not bind the
    /// server's <c>Signing:Remote</c> options that live there; it does bind the key backend options (<c>Keys/Pkcs11</c>).
    /// </summary>
    public static IReadOnlyList<(string Dir, bool Options)> SourceDirs(Host host) => host == Host.Server
        ? [("src/TrustServer.Server", true), ("src/TrustServer.Signing", true), ("src/TrustServer.Data", true)]
        : [("src/TrustServer.Signer", true), ("src/TrustServer.Signing", false), ("src/TrustServer.Signing/Keys/Pkcs11", true)];

    /// <summary>Whether the signer host's sources are in this tree.</summary>
    public static bool SignerSourcePresent => Repo.Exists("src/TrustServer.Signer/TrustServer.Signer.csproj");

    /// <summary>The <c>NOTARY_SIGNER_</c> prefix of passphrase variables, when the code reads such variables.</summary>
    public string? PassphrasePrefix { get; private set; }

    public IReadOnlyCollection<string> Keys => _keys;

    public static ConfigKeys For(Host host)
    {
        var catalog = new ConfigKeys(host);
        foreach (var (dir, options) in SourceDirs(host).Where(d => Repo.Exists(d.Dir)))
        {
            foreach (var file in Directory.GetFiles(Repo.PathOf(dir), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    || file.Contains($"{Path.DirectorySeparatorChar}Migrations{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                {
                    continue;
                }

                catalog.Scan(File.ReadAllText(file), options);
            }
        }

        foreach (var (key, type) in catalog._collectionKeys)
        {
            catalog.AddEntryPatterns(key, type, 0);
        }

        if (host == Host.Signer && !SignerSourcePresent)
        {
            foreach (var key in SignerContractWhileSourceIsMissing)
            {
                if (key.StartsWith("NOTARY_", StringComparison.Ordinal))
                {
                    catalog._variables.Add(key);
                }
                else
                {
                    catalog._keys.Add(key);
                }
            }
        }

        foreach (var key in FrameworkKeys(host))
        {
            catalog._keys.Add(key.Replace("__", ":", StringComparison.Ordinal));
        }

        return catalog;
    }

    /// <summary>
    /// Whether <paramref name="key"/> (a configuration path <c>A:B:C</c>, or an environment variable name
    /// <c>A__B__C</c>) is read by the host. Log levels: the server logs through Serilog, which reads
    /// <c>Serilog:MinimumLevel:Default</c> and <c>Serilog:MinimumLevel:Override:&lt;category&gt;</c> (its
    /// <c>Logging:LogLevel</c> has no effect, so it is not a key of the server); the signer uses standard logging
    /// (<c>Logging:LogLevel:&lt;category&gt;</c>).
    /// </summary>
    public bool Knows(string key)
    {
        if (key.StartsWith("NOTARY_", StringComparison.Ordinal))
        {
            return _variables.Contains(key) || (PassphrasePrefix is not null && key.StartsWith(PassphrasePrefix, StringComparison.Ordinal) && key.Length > PassphrasePrefix.Length);
        }

        if (key.StartsWith("ASPNETCORE_", StringComparison.Ordinal))
        {
            return _keys.Contains(key);
        }

        var path = key.Replace("__", ":", StringComparison.Ordinal);
        if (path.StartsWith("Logging:LogLevel:", StringComparison.OrdinalIgnoreCase) && path.Length > "Logging:LogLevel:".Length)
        {
            return _host == Host.Signer;
        }

        if (path.Equals("Serilog:MinimumLevel:Default", StringComparison.OrdinalIgnoreCase)
            || (path.StartsWith("Serilog:MinimumLevel:Override:", StringComparison.OrdinalIgnoreCase) && path.Length > "Serilog:MinimumLevel:Override:".Length))
        {
            return _host == Host.Server;
        }

        if (_keys.Contains(path))
        {
            return true;
        }

        // Entries of dictionaries/lists of classes: A:B:<name>:C (patterns use * for a name, # for an index).
        var segments = path.Split(':');
        if (_patterns.Any(p => MatchesPattern(p.Split(':'), segments)))
        {
            return true;
        }

        // List options bind A:B:0, A:B:1, ...
        var lastColon = path.LastIndexOf(':');
        return lastColon > 0 && int.TryParse(path[(lastColon + 1)..], out _) && _listKeys.Contains(path[..lastColon]);
    }

    private static bool MatchesPattern(string[] pattern, string[] segments) =>
        pattern.Length == segments.Length && pattern.Zip(segments).All(p =>
            p.First == "*" ? p.Second.Length > 0 : p.First == "#" ? int.TryParse(p.Second, out _) : string.Equals(p.First, p.Second, StringComparison.OrdinalIgnoreCase));

    private void AddEntryPatterns(string key, string type, int depth)
    {
        var element = CollectionElement().Match(type);
        if (!element.Success || depth > 4 || !_classProperties.TryGetValue(element.Groups["element"].Value, out var properties))
        {
            return;
        }

        var entry = key + (element.Groups["dictionary"].Success ? ":*" : ":#");
        foreach (var (name, propertyType) in properties)
        {
            _patterns.Add(entry + ":" + name);
            AddEntryPatterns(entry + ":" + name, propertyType, depth + 1);
        }
    }

    private void Scan(string source, bool options)
    {
        // Options classes: split the file at class declarations, pair each class's Section with its properties.
        var classes = ClassDeclaration().Matches(source).Select(m => m.Index).Append(source.Length).ToList();
        for (var i = 0; options && i < classes.Count - 1; i++)
        {
            var body = source[classes[i]..classes[i + 1]];
            var className = ClassDeclaration().Match(body).Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1];
            _classProperties[className] = SettableProperty().Matches(body).Select(p => (p.Groups["name"].Value, p.Groups["type"].Value)).ToList();
            if (SectionConstant().Match(body) is not { Success: true } section)
            {
                continue;
            }

            foreach (Match property in SettableProperty().Matches(body))
            {
                var key = section.Groups[1].Value + ":" + property.Groups["name"].Value;
                _keys.Add(key);
                var type = property.Groups["type"].Value;
                _collectionKeys.Add((key, type));
                if (type.StartsWith("List<", StringComparison.Ordinal) || type.StartsWith("IList<", StringComparison.Ordinal) || type.EndsWith("[]", StringComparison.Ordinal))
                {
                    _listKeys.Add(key);
                }
            }
        }

        foreach (Match m in options ? ConnectionString().Matches(source) : Enumerable.Empty<Match>())
        {
            _keys.Add("ConnectionStrings:" + m.Groups[1].Value);
        }

        foreach (Match m in options ? IndexedKey().Matches(source) : Enumerable.Empty<Match>())
        {
            _keys.Add(m.Groups[1].Value);
        }

        foreach (Match m in VariableLiteral().Matches(source))
        {
            if (m.Groups[1].Value == "NOTARY_SIGNER_")
            {
                PassphrasePrefix = "NOTARY_SIGNER_";
            }
            else
            {
                _variables.Add(m.Groups[1].Value);
            }
        }
    }

    [GeneratedRegex(@"\b(?:class|record)\s+\w+")]
    private static partial Regex ClassDeclaration();

    [GeneratedRegex(@"^(?:(?<dictionary>(?:I?Dictionary|IReadOnlyDictionary)<string,\s*)|(?:I?List|IReadOnlyList)<)(?<element>\w+)\??>$")]
    private static partial Regex CollectionElement();

    [GeneratedRegex(@"const\s+string\s+Section\s*=\s*""([^""]+)""")]
    private static partial Regex SectionConstant();

    [GeneratedRegex(@"public\s+(?<type>[\w<>\[\]?.,]+(?:\s*,\s*[\w<>\[\]?.]+)*)\s+(?<name>\w+)\s*\{\s*get;\s*set;")]
    private static partial Regex SettableProperty();

    [GeneratedRegex(@"GetConnectionString\(\s*""(\w+)""\s*\)")]
    private static partial Regex ConnectionString();

    [GeneratedRegex(@"Configuration\[\s*""([A-Za-z][\w:.]*)""\s*\]")]
    private static partial Regex IndexedKey();

    [GeneratedRegex(@"""(NOTARY_SIGNER_[A-Z0-9_]*)""")]
    private static partial Regex VariableLiteral();
}
