namespace TrustServer.Testing;

/// <summary>
/// A real database error on demand: a trigger that makes every insert into a table for one GUN fail, so that a
/// transaction writing that GUN fails midway (PostgreSQL or SQLite).
/// </summary>
public static class InjectedFailures
{
    /// <summary>SQL creating trigger <paramref name="name"/>: inserts into <paramref name="table"/> with <c>gun = <paramref name="gun"/></c> fail.</summary>
    public static string FailInsertsSql(bool postgres, string name, string table, string gun) => postgres
        ? $"""
          CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
              IF NEW.gun = '{gun}' THEN RAISE EXCEPTION 'injected failure'; END IF;
              RETURN NEW;
          END
          $$;
          CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();
          """
        : $"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN NEW.gun = '{gun}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;";

    /// <summary>SQL removing what <see cref="FailInsertsSql"/> created.</summary>
    public static string RemoveSql(bool postgres, string name, string table) => postgres
        ? $"DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}();"
        : $"DROP TRIGGER {name};";
}
