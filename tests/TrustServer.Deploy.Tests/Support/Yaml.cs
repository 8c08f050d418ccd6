using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TrustServer.Deploy.Tests.Support;

/// <summary>
/// YAML files as plain trees: mappings are <see cref="Dictionary{TKey,TValue}"/> of string to node, sequences
/// <see cref="List{T}"/>, scalars strings. Merge keys (<c>&lt;&lt;: *anchor</c>, used by docker-compose.yml) are resolved.
/// </summary>
internal static class Yaml
{
    /// <summary>All documents of a file (throws <see cref="YamlException"/> when it does not parse).</summary>
    public static IReadOnlyList<Dictionary<string, object?>> LoadAll(string relativePath)
    {
        using var reader = new StringReader(Repo.Read(relativePath));
        var stream = new YamlStream();
        stream.Load(new MergingParser(new Parser(reader)));
        return stream.Documents.Select(d => ToPlain(d.RootNode)).OfType<Dictionary<string, object?>>().ToList();
    }

    public static Dictionary<string, object?> Load(string relativePath) =>
        LoadAll(relativePath) is [var single] ? single : throw new InvalidOperationException($"{relativePath}: expected one YAML document");

    private static object? ToPlain(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? string.Empty, kv => ToPlain(kv.Value), StringComparer.Ordinal),
        YamlSequenceNode sequence => sequence.Children.Select(ToPlain).ToList(),
        YamlScalarNode scalar => scalar.Value is "~" or "null" && scalar.Style == ScalarStyle.Plain ? null : scalar.Value,
        _ => null,
    };
}

/// <summary>Navigation helpers over plain YAML/JSON trees.</summary>
internal static class Tree
{
    public static Dictionary<string, object?>? Map(this object? node, string key) =>
        node is Dictionary<string, object?> map && map.TryGetValue(key, out var value) ? value as Dictionary<string, object?> : null;

    public static List<object?> List(this object? node, string key) =>
        node is Dictionary<string, object?> map && map.TryGetValue(key, out var value) && value is List<object?> list ? list : [];

    public static string? Str(this object? node, string key) =>
        node is Dictionary<string, object?> map && map.TryGetValue(key, out var value) ? value as string : null;

    public static IEnumerable<Dictionary<string, object?>> Maps(this IEnumerable<object?> list) => list.OfType<Dictionary<string, object?>>();

    /// <summary>Every value in the tree (depth first) with its path, e.g. <c>spec.template.spec.containers[0].image</c>.</summary>
    public static IEnumerable<(string Path, object? Value)> Walk(object? node, string path = "")
    {
        yield return (path, node);
        switch (node)
        {
            case Dictionary<string, object?> map:
                foreach (var (key, value) in map)
                {
                    foreach (var inner in Walk(value, path.Length == 0 ? key : path + "." + key))
                    {
                        yield return inner;
                    }
                }

                break;
            case List<object?> list:
                for (var i = 0; i < list.Count; i++)
                {
                    foreach (var inner in Walk(list[i], $"{path}[{i}]"))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }
}
