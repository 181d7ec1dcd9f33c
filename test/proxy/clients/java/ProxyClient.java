// A Java workload that knows nothing of pgmint: pgJDBC connects to the proxy
// with no password (it sends many startup parameters and checks DateStyle)
// and prints what the session looks like as JSON.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public class ProxyClient {
  public static void main(String[] args) throws Exception {
    try (Connection conn = DriverManager.getConnection(System.getenv("JDBC_URL"))) {
      StringBuilder out = new StringBuilder("{");
      try (Statement st = conn.createStatement();
          ResultSet rs = st.executeQuery("SELECT current_user, current_setting('application_name'), current_setting('DateStyle'), (SELECT count(*)::int FROM app.orders)")) {
        rs.next();
        out.append("\"current_user\":\"").append(rs.getString(1)).append("\",")
            .append("\"application_name\":\"").append(rs.getString(2)).append("\",")
            .append("\"datestyle\":\"").append(rs.getString(3)).append("\",")
            .append("\"orders\":").append(rs.getInt(4));
      }
      try (Statement st = conn.createStatement()) {
        st.executeQuery("SELECT * FROM secret.payroll");
      } catch (SQLException e) {
        out.append(",\"denied\":\"").append(e.getSQLState()).append("\"");
      }
      System.out.println(out.append("}"));
    }
  }
}
