using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;

namespace TrustServer.Testing.CompiledModels;

/// <summary>
/// Checks a context's EF Core compiled model against the model EF builds from the code (issue 19, target 6). Shared by
/// the metadata contexts' test (TrustServer.Data.Tests) and the key contexts' test (TrustServer.Signing.Tests, linked).
/// </summary>
internal static class CompiledModelAssert
{
    /// <summary>What to run when a compiled model is out of date.</summary>
    public const string RegenerateCommand = "scripts/ef-compiled-models.sh";

    /// <summary>
    /// The differences between the model of <paramref name="compiled"/> (which must use a compiled model) and that of
    /// <paramref name="fromCode"/> (built from <c>OnModelCreating</c>, then made read-optimized as at run time): their
    /// full descriptions (<c>ToDebugString</c> with annotations: entity types, properties with CLR types, nullability,
    /// lengths, keys, indexes, table and column names), line by line, each property's store type and value converter,
    /// and any query filter in the code. Empty when they match. (The migrations differ cannot compare them: it needs design-time
    /// models, and a compiled model has none.)
    /// </summary>
    public static List<string> Differences(DbContext compiled, DbContext fromCode)
    {
        ArgumentNullException.ThrowIfNull(compiled);
        ArgumentNullException.ThrowIfNull(fromCode);
        Assert.NotNull(compiled.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.Model);
        Assert.Null(fromCode.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.Model);

        var differences = new List<string>();

        // Compiled models cannot hold query filters (dotnet ef refuses to generate them): one in the code would be
        // silently ignored at run time.
        differences.AddRange(fromCode.GetService<IDesignTimeModel>().Model.GetEntityTypes()
            .Where(entity => entity.GetDeclaredQueryFilters().Count > 0)
            .Select(entity => $"{entity.DisplayName()} has a query filter, which a compiled model cannot hold: filter in the queries instead"));

        var expected = Lines(fromCode.Model);
        var actual = Lines(compiled.Model);
        differences.AddRange(expected.Except(actual).Select(line => $"only in the code's model: {line}"));
        differences.AddRange(actual.Except(expected).Select(line => $"only in the compiled model: {line}"));
        return differences;
    }

    /// <summary>Fails, naming the differences and the command that regenerates the compiled models, unless they match.</summary>
    public static void Matches(DbContext compiled, DbContext fromCode)
    {
        var differences = Differences(compiled, fromCode);
        Assert.True(
            differences.Count == 0,
            $"The compiled model of {compiled.GetType().Name} is out of date: run {RegenerateCommand} and commit the result.\n" + string.Join('\n', differences));
    }

    // Each line of the description with the lines it is nested in (by indentation), e.g.
    // "EntityType: TufFileEntity > Properties: > Gun (string) Required MaxLength(255) > Annotations: > Relational:ColumnName: gun".
    private static List<string> Lines(IModel model)
    {
        var lines = new List<string>();
        var path = new List<(int Indent, string Text)>();
        foreach (var raw in model.ToDebugString(MetadataDebugStringOptions.LongDefault).Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var indent = line.Length - line.TrimStart().Length;
            path.RemoveAll(p => p.Indent >= indent);
            path.Add((indent, line.Trim()));
            lines.Add(string.Join(" > ", path.Select(p => p.Text)));
        }

        // What the description leaves out: the store type and value converter of each property.
        lines.AddRange(model.GetEntityTypes().SelectMany(entity => entity.GetProperties().Select(property => property.GetRelationalTypeMapping() is var mapping
            ? $"{entity.ClrType.Name}.{property.Name}: store type {mapping.StoreType}, converter {mapping.Converter?.GetType().Name ?? "none"}"
            : string.Empty)));
        return lines;
    }
}
